#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "card_os/nvm/storage.hpp"
#include "simulator/file_storage.hpp"
#include "support/temp_dir.hpp"

using namespace juki;
using namespace juki::card_os;
using juki::sim::FileStorage;  // the simulator's card image file, on the storage contract

namespace {

using test::TempDir;

Bytes read_back(const Storage& s, std::size_t offset, std::size_t len) {
  Bytes out(len);
  s.read(offset, out);
  return out;
}

}  // namespace

TEST_CASE("MemoryStorage reads back what was written") {
  MemoryStorage s(32);
  CHECK(s.size() == 32);
  CHECK(read_back(s, 0, 32) == Bytes(32, 0));
  s.write(30, Bytes{0xAA, 0xBB});
  s.write(0, Bytes{1, 2, 3});
  s.sync();
  CHECK(read_back(s, 0, 4) == Bytes{1, 2, 3, 0});
  CHECK(read_back(s, 29, 3) == Bytes{0, 0xAA, 0xBB});
  CHECK(s.bytes()[31] == 0xBB);
}

TEST_CASE("FileStorage create, write, sync and reopen") {
  TempDir dir;
  const std::string path = dir.file("card.img");
  {
    auto s = FileStorage::create(path, 5000);
    REQUIRE(s.ok());
    CHECK((*s)->size() == 5000);
    CHECK((*s)->path() == path);
    CHECK(read_back(**s, 0, 5000) == Bytes(5000, 0));
    (*s)->write(4998, Bytes{0x12, 0x34});
    (*s)->write(100, Bytes{0x55});
    (*s)->sync();
    CHECK(read_back(**s, 4998, 2) == Bytes{0x12, 0x34});
  }
  CHECK(std::filesystem::file_size(path) == 5000);
  {
    std::ifstream in(path, std::ios::binary);
    Bytes raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(raw.size() == 5000);
    CHECK(raw[100] == 0x55);
    CHECK(raw[4998] == 0x12);
    CHECK(raw[4999] == 0x34);
  }
  auto s = FileStorage::open(path);
  REQUIRE(s.ok());
  CHECK((*s)->size() == 5000);
  CHECK(read_back(**s, 99, 3) == Bytes{0, 0x55, 0});
  CHECK(read_back(**s, 4998, 2) == Bytes{0x12, 0x34});
}

TEST_CASE("FileStorage create truncates an existing file to zeros of the exact size") {
  TempDir dir;
  const std::string path = dir.file("card.img");
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(10000, 'x');
  }
  auto s = FileStorage::create(path, 300);
  REQUIRE(s.ok());
  CHECK(std::filesystem::file_size(path) == 300);
  auto again = FileStorage::open(path);
  REQUIRE(again.ok());
  CHECK(read_back(**again, 0, 300) == Bytes(300, 0));
}

TEST_CASE("FileStorage errors name the path") {
  TempDir dir;
  const std::string missing = dir.file("no-such-card.img");
  auto o = FileStorage::open(missing);
  REQUIRE_FALSE(o.ok());
  CHECK_THAT(o.error(), Catch::Contains(missing));
  CHECK_THAT(o.error(), Catch::Contains("No such file"));

  const std::string bad_dir = dir.file("missing-dir/card.img");
  auto c = FileStorage::create(bad_dir, 100);
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.error(), Catch::Contains(bad_dir));

  auto d = FileStorage::open(dir.path.string());
  REQUIRE_FALSE(d.ok());
  CHECK_THAT(d.error(), Catch::Contains(dir.path.string()));
}

TEST_CASE("FaultInjector counts writes and tears the armed one") {
  MemoryStorage mem(16);
  FaultInjector fi(mem);
  CHECK(fi.size() == 16);
  fi.write(0, Bytes{1, 1});
  fi.write(2, Bytes{2, 2});
  CHECK(fi.writes() == 2);
  CHECK_FALSE(fi.armed());
  CHECK_FALSE(fi.fired());

  SECTION("torn prefix reaches the medium, then power is lost") {
    fi.arm(3, 2);
    CHECK(fi.armed());
    fi.write(4, Bytes{3, 3, 3, 3});  // index 2: not the armed one
    CHECK_THROWS_AS(fi.write(8, Bytes{4, 4, 4, 4}), PowerLoss);
    CHECK(fi.fired());
    CHECK_FALSE(fi.armed());
    CHECK(fi.writes() == 4);
    CHECK(read_back(mem, 0, 12) == Bytes{1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 0, 0});
    // Disarmed after firing: the next write goes through whole.
    fi.write(8, Bytes{5, 5, 5, 5});
    CHECK(read_back(fi, 8, 4) == Bytes{5, 5, 5, 5});
  }
  SECTION("prefix 0 writes nothing; a prefix beyond the size is clamped") {
    fi.arm(2, 0);
    CHECK_THROWS_AS(fi.write(4, Bytes{9, 9}), PowerLoss);
    CHECK(read_back(mem, 4, 2) == Bytes{0, 0});
    fi.arm(3, 100);
    CHECK_THROWS_AS(fi.write(4, Bytes{7, 7}), PowerLoss);
    CHECK(read_back(mem, 4, 3) == Bytes{7, 7, 0});
  }
  SECTION("disarm prevents the cut") {
    fi.arm(2, 1);
    fi.disarm();
    fi.write(4, Bytes{6, 6});
    CHECK_FALSE(fi.fired());
    CHECK(read_back(mem, 4, 2) == Bytes{6, 6});
  }
  SECTION("an index already passed never fires") {
    fi.arm(0, 1);
    fi.write(4, Bytes{6});
    CHECK_FALSE(fi.fired());
    CHECK(fi.armed());
  }
}
