// The storage engine layer of Juki-net's servers, all of it: connections on
// SQLite or PostgreSQL (connection.hpp), a pool of them (pool.hpp) and
// versioned schemas (migrations.hpp).
#pragma once

#include "backend/store/connection.hpp"  // IWYU pragma: export
#include "backend/store/migrations.hpp"  // IWYU pragma: export
#include "backend/store/pool.hpp"        // IWYU pragma: export
#include "backend/store/value.hpp"       // IWYU pragma: export
