-- The resource_watch chain (60-audit-events §2, issue 7): every change event gets `seq`, its
-- place in commit order, drawn from the one-row event_clock inside the writing transaction. The
-- clock row stays locked until that transaction ends, so a later `seq` can only be drawn after
-- every earlier one committed or rolled back (rolled back draws vanish with their events): a
-- reader that sees `seq` n committed sees everything below n, and the chain has no gaps --
-- across processes too. The price: event-writing transactions commit one at a time (the draw is
-- the last thing they do, sent with the COMMIT, so the lock is held for server time only).
-- event_prune remembers how far retention has deleted, so a cursor older than that is reported
-- as expired; it is a row of its own so pruning never takes the clock's lock.
CREATE TABLE event_clock (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO event_clock (id, seq) SELECT 1, COALESCE(MAX(id), 0) FROM change_event;
CREATE TABLE event_prune (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    through BIGINT NOT NULL
);
INSERT INTO event_prune (id, through) VALUES (1, 0);
ALTER TABLE change_event ADD COLUMN seq BIGINT;
UPDATE change_event SET seq = id;
CREATE UNIQUE INDEX change_event_seq ON change_event (seq);
DROP INDEX change_event_resource;
CREATE INDEX change_event_resource ON change_event (resource, seq);
-- Events not sealed yet (only ever the writing transaction's own, until its COMMIT).
CREATE INDEX change_event_unsealed ON change_event (id) WHERE seq IS NULL;
