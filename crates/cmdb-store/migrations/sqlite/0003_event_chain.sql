-- The resource_watch chain (60-audit-events §2, issue 7): every change event gets `seq`, its
-- place in commit order, drawn from the one-row event_clock inside the writing transaction.
-- SQLite has one writer at a time, so drawing order is commit order; the clock (rather than the
-- AUTOINCREMENT id) keeps both backends on one reading path. event_prune remembers how far
-- retention has deleted, so a cursor older than that is reported as expired, not silently
-- resumed past the missing events. It is a row of its own so pruning never locks the clock.
CREATE TABLE event_clock (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO event_clock (id, seq) SELECT 1, COALESCE(MAX(id), 0) FROM change_event;
CREATE TABLE event_prune (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    through INTEGER NOT NULL
);
INSERT INTO event_prune (id, through) VALUES (1, 0);
ALTER TABLE change_event ADD COLUMN seq INTEGER;
UPDATE change_event SET seq = id;
CREATE UNIQUE INDEX change_event_seq ON change_event (seq);
DROP INDEX change_event_resource;
CREATE INDEX change_event_resource ON change_event (resource, seq);
-- PostgreSQL's index of unsealed events; always empty here (SQLite numbers events at insert),
-- kept so both backends have the same indexes.
CREATE INDEX change_event_unsealed ON change_event (id) WHERE seq IS NULL;
