/* sqlite_schema.c: the SQLite schema as numbered migrations.
 *
 * Migration i (1-based) is migrations[i - 1]; schema_migrations records each
 * one applied. A migration runs in its own IMMEDIATE transaction together
 * with its record, so a crash leaves either all of it or none, and two
 * processes opening a new store at once cannot both apply it. Never edit a
 * released migration: append a new one. */
#include <stdlib.h>
#include <time.h>

#include "soundalike/log.h"
#include "store/sqlite.h"

typedef struct migration {
    const char *name;
    const char *sql;
} migration;

static const migration migrations[] = {
    {"initial schema",
     /* status is text so that the file reads well in any SQLite tool; the
      * UNIQUE constraint on path is the index for path lookups */
     "CREATE TABLE scans ("
     "  id INTEGER PRIMARY KEY,"
     "  started_at INTEGER NOT NULL);"
     "CREATE TABLE tracks ("
     "  id INTEGER PRIMARY KEY,"
     "  path TEXT NOT NULL UNIQUE,"
     "  size INTEGER NOT NULL DEFAULT 0,"
     "  mtime_ns INTEGER NOT NULL DEFAULT 0,"
     "  content_hash TEXT,"
     "  status TEXT NOT NULL DEFAULT 'pending'"
     "    CHECK (status IN ('pending', 'analyzed', 'failed', 'missing')),"
     "  error TEXT,"
     "  duration_s REAL NOT NULL DEFAULT 0,"
     "  sample_rate INTEGER NOT NULL DEFAULT 0,"
     "  channels INTEGER NOT NULL DEFAULT 0,"
     "  codec TEXT, title TEXT, artist TEXT, album TEXT, genre TEXT,"
     "  scanned_at INTEGER NOT NULL DEFAULT 0,"
     "  analyzed_at INTEGER,"
     "  last_seen_scan INTEGER REFERENCES scans(id) ON DELETE SET NULL);"
     "CREATE INDEX tracks_status ON tracks(status);"
     "CREATE TABLE features ("
     "  track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,"
     "  analyzer TEXT NOT NULL,"
     "  version INTEGER NOT NULL,"
     "  data TEXT NOT NULL,"
     "  PRIMARY KEY (track_id, analyzer));"
     "CREATE TABLE vectors ("
     "  track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,"
     "  profile TEXT NOT NULL,"
     "  dim INTEGER NOT NULL CHECK (dim > 0),"
     "  data BLOB NOT NULL,"
     "  PRIMARY KEY (track_id, profile));"
     /* loading a profile walks this index in track order */
     "CREATE INDEX vectors_profile ON vectors(profile, track_id);"
     "CREATE TABLE vector_generations ("
     "  profile TEXT PRIMARY KEY,"
     "  generation INTEGER NOT NULL);"
     /* every change to what sa_store_vectors_load would return bumps its profile */
     "CREATE TRIGGER vectors_insert AFTER INSERT ON vectors BEGIN"
     "  INSERT OR IGNORE INTO vector_generations(profile, generation) VALUES (NEW.profile, 0);"
     "  UPDATE vector_generations SET generation = generation + 1 WHERE profile = NEW.profile;"
     " END;"
     "CREATE TRIGGER vectors_update AFTER UPDATE ON vectors BEGIN"
     "  UPDATE vector_generations SET generation = generation + 1"
     "   WHERE profile IN (OLD.profile, NEW.profile);"
     " END;"
     "CREATE TRIGGER vectors_delete AFTER DELETE ON vectors BEGIN"
     "  UPDATE vector_generations SET generation = generation + 1 WHERE profile = OLD.profile;"
     " END;"
     "CREATE TRIGGER tracks_status_change AFTER UPDATE OF status ON tracks"
     " WHEN OLD.status IS NOT NEW.status BEGIN"
     "  UPDATE vector_generations SET generation = generation + 1"
     "   WHERE profile IN (SELECT profile FROM vectors WHERE track_id = NEW.id);"
     " END;"
     "CREATE TABLE index_meta ("
     "  name TEXT PRIMARY KEY,"
     "  profile TEXT NOT NULL,"
     "  type TEXT NOT NULL,"
     "  dim INTEGER NOT NULL,"
     "  count INTEGER NOT NULL,"
     "  generation INTEGER NOT NULL,"
     "  build_time_s REAL NOT NULL,"
     "  built_at INTEGER NOT NULL,"
     "  checksum TEXT NOT NULL,"
     "  file TEXT NOT NULL,"
     "  recall_at_10 REAL);"}, /* NULL when not measured */
    {"vector changes since a generation",
     /* Each vector row carries the generation of its last change (its own
      * write, or its track's status), and a deleted vector leaves a
      * tombstone, so an index built at generation G catches up by reading
      * only what is newer than G. Rows written before this migration are
      * stamped with the current generation: an index older than that sees
      * them all as changed. */
     "DROP TRIGGER vectors_insert;"
     "DROP TRIGGER vectors_update;"
     "DROP TRIGGER vectors_delete;"
     "DROP TRIGGER tracks_status_change;"
     "ALTER TABLE vectors ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;"
     "UPDATE vectors SET generation ="
     "  coalesce((SELECT g.generation FROM vector_generations g WHERE g.profile = vectors.profile), 0);"
     "CREATE INDEX vectors_changes ON vectors(profile, generation);"
     "CREATE TABLE vector_deletions ("
     "  profile TEXT NOT NULL,"
     "  track_id INTEGER NOT NULL,"
     "  generation INTEGER NOT NULL,"
     "  PRIMARY KEY (profile, track_id));"
     "CREATE INDEX vector_deletions_changes ON vector_deletions(profile, generation);"
     /* setting a row's own generation is an update OF generation only, which
      * fires none of these; no OR IGNORE/REPLACE inside, since the conflict
      * clause of the statement that fires a trigger overrides those */
     "CREATE TRIGGER vectors_insert AFTER INSERT ON vectors BEGIN"
     "  INSERT INTO vector_generations(profile, generation) SELECT NEW.profile, 0"
     "   WHERE NOT EXISTS (SELECT 1 FROM vector_generations WHERE profile = NEW.profile);"
     "  UPDATE vector_generations SET generation = generation + 1 WHERE profile = NEW.profile;"
     "  UPDATE vectors SET generation = (SELECT generation FROM vector_generations WHERE profile = NEW.profile)"
     "   WHERE track_id = NEW.track_id AND profile = NEW.profile;"
     "  DELETE FROM vector_deletions WHERE profile = NEW.profile AND track_id = NEW.track_id;"
     " END;"
     "CREATE TRIGGER vectors_update AFTER UPDATE OF track_id, profile, dim, data ON vectors BEGIN"
     "  INSERT INTO vector_generations(profile, generation) SELECT NEW.profile, 0"
     "   WHERE NOT EXISTS (SELECT 1 FROM vector_generations WHERE profile = NEW.profile);"
     "  UPDATE vector_generations SET generation = generation + 1 WHERE profile IN (OLD.profile, NEW.profile);"
     "  DELETE FROM vector_deletions WHERE profile = OLD.profile AND track_id = OLD.track_id;"
     "  INSERT INTO vector_deletions(profile, track_id, generation)"
     "   SELECT OLD.profile, OLD.track_id, generation FROM vector_generations WHERE profile = OLD.profile"
     "   AND (OLD.profile IS NOT NEW.profile OR OLD.track_id IS NOT NEW.track_id);"
     "  UPDATE vectors SET generation = (SELECT generation FROM vector_generations WHERE profile = NEW.profile)"
     "   WHERE track_id = NEW.track_id AND profile = NEW.profile;"
     "  DELETE FROM vector_deletions WHERE profile = NEW.profile AND track_id = NEW.track_id;"
     " END;"
     "CREATE TRIGGER vectors_delete AFTER DELETE ON vectors BEGIN"
     "  UPDATE vector_generations SET generation = generation + 1 WHERE profile = OLD.profile;"
     "  DELETE FROM vector_deletions WHERE profile = OLD.profile AND track_id = OLD.track_id;"
     "  INSERT INTO vector_deletions(profile, track_id, generation)"
     "   SELECT OLD.profile, OLD.track_id, generation FROM vector_generations WHERE profile = OLD.profile;"
     " END;"
     "CREATE TRIGGER tracks_status_change AFTER UPDATE OF status ON tracks"
     " WHEN OLD.status IS NOT NEW.status BEGIN"
     "  UPDATE vector_generations SET generation = generation + 1"
     "   WHERE profile IN (SELECT profile FROM vectors WHERE track_id = NEW.id);"
     "  UPDATE vectors SET generation ="
     "   (SELECT g.generation FROM vector_generations g WHERE g.profile = vectors.profile)"
     "   WHERE track_id = NEW.id;"
     " END;"
     /* what was asked for ("auto"), when the type was chosen for the user */
     "ALTER TABLE index_meta ADD COLUMN requested_type TEXT;"},
};

#define KNOWN_VERSION ((int)(sizeof migrations / sizeof *migrations))

/* The single integer a one-row query returns. */
static sa_err query_int(sq_store *sq, const char *sql, int *out) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sq->db, sql, -1, &st, NULL) != SQLITE_OK)
        return sq_error(sq, "reading the schema version");
    int row;
    sa_err err = sq_step(sq, st, &row, "reading the schema version");
    if (!err)
        *out = row ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st); /* repeats the step's error, already reported */
    return err;
}

/* 0 for a new, empty database. */
static sa_err read_version(sq_store *sq, int *version) {
    int exists = 0;
    sa_err err = query_int(sq,
                           "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
                           &exists);
    if (err || !exists) {
        *version = 0;
        return err;
    }
    return query_int(sq, "SELECT coalesce(max(version), 0) FROM schema_migrations", version);
}

static sa_err record(sq_store *sq, int version) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sq->db, "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)", -1,
                           &st, NULL) != SQLITE_OK)
        return sq_error(sq, "recording migration %d", version);
    sa_err err = sq_bind(sq, st, "nti", version, migrations[version - 1].name, (int64_t)time(NULL));
    if (!err)
        err = sq_run(sq, st, "recording migration %d", version);
    sqlite3_finalize(st); /* repeats the step's error, already reported */
    return err;
}

/* Applies the migration after *version, unless another connection did it
 * while this one waited for the lock; *version gets the version after. */
static sa_err migrate_one(sq_store *sq, int *version) {
    sa_err err = sq_exec(sq, "BEGIN IMMEDIATE", "starting a schema migration");
    if (err)
        return err;
    err = read_version(sq, version);
    if (!err && *version < KNOWN_VERSION) {
        int next = *version + 1;
        err = sq_exec(sq,
                      "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      "  version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
                      "creating schema_migrations");
        if (!err && sqlite3_exec(sq->db, migrations[next - 1].sql, NULL, NULL, NULL) != SQLITE_OK)
            err = sq_error(sq, "applying schema migration %d (%s)", next, migrations[next - 1].name);
        if (!err)
            err = record(sq, next);
        if (!err)
            *version = next;
    }
    if (!err)
        return sq_exec(sq, "COMMIT", "committing a schema migration");
    /* keep the migration's error, not the rollback's */
    if (sqlite3_exec(sq->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
        sa_log_warn("store %s: rolling back a failed migration: %s", sq->path, sqlite3_errmsg(sq->db));
    return err;
}

sa_err sq_migrate(sq_store *sq) {
    int version = 0;
    /* a plain read first: an up-to-date store opens without waiting for the write lock */
    sa_err err = read_version(sq, &version);
    while (!err && version < KNOWN_VERSION)
        err = migrate_one(sq, &version);
    if (err)
        return err;
    if (version > KNOWN_VERSION)
        return sa_error_set(SA_ERR_UNSUPPORTED,
                            "store %s has schema version %d, newer than this build knows (%d): "
                            "upgrade soundalike to open it",
                            sq->path, version, KNOWN_VERSION);
    sq->schema_version = version;
    return SA_OK;
}
