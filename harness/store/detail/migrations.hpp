#pragma once
// The results store's schema as a versioned list of migrations (migrations.cpp describes the tables). The
// version lives in PRAGMA user_version, the owner in PRAGMA application_id.
#include "store/detail/sqlite.hpp"

namespace flashtune::store::detail {

inline constexpr int kLatestSchemaVersion = 6;
inline constexpr int kApplicationId = 0x464c5455;  // "FLTU"

// Brings the database to kLatestSchemaVersion, in one write transaction (a second process that got there
// first leaves nothing to do). Throws Error(io): "<path> was written by a newer flashtune (schema 7 > 1)" for
// a newer schema, "<path> is not a flashtune database (...)" for another program's database; SqliteError for
// the rest.
void migrate(Database& db);
// Brings a database older than `version` (<= kLatestSchemaVersion) to that version, no further: what a build
// of that schema would have written (the migration tests make older databases with it). A database at or
// past `version` is left as it is.
void migrate(Database& db, int version);

}  // namespace flashtune::store::detail
