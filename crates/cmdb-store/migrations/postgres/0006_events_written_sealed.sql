-- Change events are now written once, already numbered: SQLite draws `seq` at insert, and
-- PostgreSQL inserts a transaction's events in the statement that draws their numbers at commit.
-- No event is ever without `seq` any more, so the index of unsealed events only cost writes.
DROP INDEX change_event_unsealed;
