-- The outbox through which PostgreSQL writers hand their change events to the sequencer (see
-- the PostgreSQL twin of this migration). SQLite never uses it: its one writer at a time draws
-- event numbers at insert, in commit order already. The table exists so both backends keep the
-- same schema.
CREATE TABLE event_outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    resource   TEXT NOT NULL,
    event_type TEXT NOT NULL,
    obj_id     TEXT NOT NULL,
    inst_id    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    detail     TEXT NOT NULL
);
