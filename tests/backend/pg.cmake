# The project's own PostgreSQL server for the backend's tests: a CTest
# fixture, juki_pg, whose setup test (pg_cluster_start) starts a private
# cluster with scripts/pg-cluster and whose cleanup test (pg_cluster_stop)
# stops and removes it. Nobody has to start PostgreSQL by hand, and
# `ctest -R <some test>` still brings the cluster up and down around it.
#
#   include(${PROJECT_SOURCE_DIR}/tests/backend/pg.cmake)
#   juki_add_test(test_foo test_foo.cpp LIBS ...)
#   juki_tests_need_pg(test_foo)
#
# juki_tests_need_pg(TARGET) gives every test discovered in TARGET (by
# juki_add_test, in the same directory, called before it) FIXTURES_REQUIRED
# juki_pg and ENVIRONMENT JUKI_TEST_PG=<the cluster's conninfo>;
# tests/backend/store/engines.hpp reads it. Those two properties are set, not
# appended to. JUKI_TEST_PG_DIR is the cluster's directory and JUKI_TEST_PG
# its conninfo, for a plain add_test:
#
#   set_tests_properties(my_test PROPERTIES FIXTURES_REQUIRED juki_pg
#     ENVIRONMENT "JUKI_TEST_PG=${JUKI_TEST_PG}")

# Short (a socket's path has at most 107 bytes) and one per build tree, so
# that the default and sanitize trees can run their tests at the same time.
# Set in every directory that includes this file.
string(SHA1 _juki_pg_hash "${CMAKE_BINARY_DIR}")
string(SUBSTRING "${_juki_pg_hash}" 0 12 _juki_pg_hash)
set(JUKI_TEST_PG_DIR "/tmp/juki-pg-${_juki_pg_hash}")
set(JUKI_TEST_PG "host=${JUKI_TEST_PG_DIR} port=5432 user=juki-pg dbname=postgres")

# The fixture's two tests, once for the whole build (in the directory that
# includes this file first; fixtures are matched across directories).
get_property(_juki_pg_registered GLOBAL PROPERTY JUKI_PG_FIXTURE_REGISTERED)
if(NOT _juki_pg_registered)
  set_property(GLOBAL PROPERTY JUKI_PG_FIXTURE_REGISTERED TRUE)
  add_test(NAME pg_cluster_start
    COMMAND ${PROJECT_SOURCE_DIR}/scripts/pg-cluster start ${JUKI_TEST_PG_DIR})
  set_tests_properties(pg_cluster_start PROPERTIES FIXTURES_SETUP juki_pg TIMEOUT 120)
  add_test(NAME pg_cluster_stop
    COMMAND ${PROJECT_SOURCE_DIR}/scripts/pg-cluster stop --remove ${JUKI_TEST_PG_DIR})
  set_tests_properties(pg_cluster_stop PROPERTIES FIXTURES_CLEANUP juki_pg TIMEOUT 120)
endif()

function(juki_tests_need_pg target)
  # The tests are discovered at build time (catch_discover_tests), into the
  # list ${target}_TESTS that CTest's include file defines; this second
  # include file, read after it, gives them the fixture.
  set(include_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_needs_pg.cmake")
  file(WRITE "${include_file}"
    "if(DEFINED ${target}_TESTS)\n"
    "  set_tests_properties(\${${target}_TESTS} PROPERTIES\n"
    "    FIXTURES_REQUIRED juki_pg\n"
    "    ENVIRONMENT [==[JUKI_TEST_PG=${JUKI_TEST_PG}]==])\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${include_file}")
endfunction()
