// A server's config file: strict, every refusal naming its field.
#include <catch2/catch.hpp>

#include "backend/server/config.hpp"

using namespace juki::backend;

namespace {

const std::string kCs = R"({
  "tier": "cs", "code": "131016", "listen": "127.0.0.1:7101",
  "trust": {"root": "pki/root.der", "server_ca": "pki/server-ca.der",
            "server_crl": "pki/server-ca.crl", "certificate": "cs.der", "key": "cs.key"},
  "store": "sqlite:cs.db", "calendar": "/etc/juki/japan.json",
  "upstream": {"address": "127.0.0.1:7001", "code": "130001"},
  "limits": {"batch": 200, "max_inflight": 8}
})";

std::string refusal(const std::string& text) {
  auto c = server::parse_config(text, "/srv/juki");
  return c ? std::string() : c.error();
}

std::string with(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("a CS's config: relative paths from the config's folder, limits with defaults") {
  auto c = server::parse_config(kCs, "/srv/juki");
  REQUIRE(c.ok());
  CHECK(c->tier == server::Tier::cs);
  CHECK(c->code == "131016");
  CHECK(c->trust.root == "/srv/juki/pki/root.der");
  CHECK(c->trust.key == "/srv/juki/cs.key");
  CHECK(c->store == "sqlite:/srv/juki/cs.db");
  CHECK(c->calendar == "/etc/juki/japan.json");
  REQUIRE(c->upstream);
  CHECK(c->upstream->code == "130001");
  CHECK(c->limits.batch == 200);
  CHECK(c->limits.deadline_ms == 10'000);
  CHECK(c->limits.max_inflight == 8);
  CHECK(c->limits.max_queued == 64);
  CHECK(c->limits.lookup_statements == 1);
  CHECK(c->trust.signing_key.empty());  // messages signed with the key file

  auto in_token =
      server::parse_config(with(kCs, R"("key": "cs.key")",
                                R"("key": "cs.key", "signing_key": "pkcs11:token=cs;object=)"
                                R"(signing?pin-source=file:/etc/juki/pin", )"
                                R"("signing_certificate": "cs-signing.der")"),
                           "/srv/juki");
  REQUIRE(in_token);
  CHECK(in_token->trust.signing_key ==
        "pkcs11:token=cs;object=signing?pin-source=file:/etc/juki/pin");
  CHECK(in_token->trust.signing_certificate == "/srv/juki/cs-signing.der");
}

TEST_CASE("config refusals name the field") {
  CHECK(refusal(with(kCs, R"("tier": "cs")", R"("tier": "village")")) ==
        "tier: must be cs, prefecture, national or resident-system, not \"village\"");
  CHECK(refusal(with(kCs, R"("code": "131016")", R"("code": "131017")")) ==
        "code: \"131017\" is not a valid local government code");
  CHECK(refusal(with(kCs, R"("code": "131016")", R"("code": "130001")")) ==
        "code: 130001 is a prefecture's code, not a municipality's");
  CHECK(refusal(with(kCs, R"("code": "130001")", R"("code": "270008")")) ==
        "upstream.code: CS 131016's prefecture is 130001, not 270008");
  CHECK(refusal(with(kCs, R"("key": "cs.key")", R"("key": "")")) == "trust.key: must not be empty");
  CHECK(refusal(with(kCs, R"(, "key": "cs.key")", "")) == "trust.key: missing");
  CHECK(refusal(with(kCs, R"("listen": "127.0.0.1:7101")", R"("listen": "7101")")) ==
        "listen: must be host:port, not \"7101\"");
  CHECK(refusal(with(kCs, R"("store": "sqlite:cs.db")", R"("store": "mysql:x")")) ==
        "store: must start with sqlite: or postgresql:");
  CHECK(refusal(with(kCs, R"("batch": 200)", R"("batch": 0)")) ==
        "limits.batch: must be from 1 to 10000");
  CHECK(refusal(with(kCs, R"("batch": 200)", R"("batch": "many")")) ==
        "limits.batch: must be a whole number");
  const std::string token_key = R"("key": "cs.key", "signing_key": )";
  CHECK(refusal(with(kCs, R"("key": "cs.key")", token_key + R"("pkcs11:token=t")")) ==
        "trust.signing_key: the PKCS#11 URI names no key (object or id)");
  CHECK(refusal(with(kCs, R"("key": "cs.key")",
                     token_key + R"("pkcs11:token=t;object=k?pin-source=file:/p")")) ==
        "trust.signing_certificate: missing");
  CHECK(refusal(with(kCs, R"("key": "cs.key")",
                     token_key + R"("pkcs11:token=t;object=k?pin-value=1")")) ==
        "trust.signing_key: give the PIN in a file (pin-source=file:PATH), not pin-value");
  CHECK(refusal(with(kCs, R"("key": "cs.key")",
                     token_key + R"("pkcs11:token=t;object=k?pin-source=file:cs.pin")")) ==
        "trust.signing_key: pin-source and module-path must be absolute paths");
  CHECK(
      refusal(with(kCs, R"("key": "cs.key")", R"("key": "cs.key", "signing_certificate": "s")")) ==
      "trust.signing_key: missing");
  CHECK(refusal(with(kCs, R"("max_inflight": 8)", R"("max_inflight": 2000)")) ==
        "limits.max_inflight: must be from 1 to 1024");
  CHECK(refusal(with(kCs, R"("max_inflight": 8)", R"("max_inflight": 8, "max_queued": -1)")) ==
        "limits.max_queued: must be from 0 to 100000");
  CHECK(refusal(with(kCs, R"("max_inflight": 8)", R"("max_threads": 8)")) ==
        "limits.max_threads: unknown field");
  CHECK(refusal(with(kCs, R"("batch": 200)", R"("batch": 200, "batches": 2)")) ==
        "limits.batches: unknown field");
  CHECK(refusal(with(kCs, R"("tier": "cs")", R"("tier": "cs", "tier": "cs")")) ==
        "field \"tier\" appears twice in one object");
  CHECK(refusal("[]") == "(config): must be a JSON object");
  CHECK(refusal("{").rfind("not JSON: ", 0) == 0);
}

TEST_CASE("the national server has no code and no upstream, and a prefecture's is the national") {
  const std::string national = R"({"tier": "national", "listen": "0.0.0.0:7000",
    "trust": {"root": "r", "server_ca": "c", "server_crl": "l", "certificate": "n", "key": "k"},
    "store": "postgresql:host=/tmp/pg dbname=national", "calendar": "japan.json"})";
  auto n = server::parse_config(national, "/srv");
  REQUIRE(n.ok());
  CHECK(n->code.empty());
  CHECK_FALSE(n->upstream);
  CHECK(n->store == "postgresql:host=/tmp/pg dbname=national");
  CHECK(
      refusal(with(national, R"("tier": "national")", R"("tier": "national", "code": "130001")")) ==
      "code: the national server has no code");
  CHECK(refusal(with(national, R"("calendar": "japan.json")",
                     R"("calendar": "japan.json", "upstream": {"address": "a:1"})")) ==
        "upstream: the national server sends to no one");

  const std::string prefecture = with(with(kCs, R"("tier": "cs")", R"("tier": "prefecture")"),
                                      R"("code": "131016")", R"("code": "130001")");
  CHECK(refusal(prefecture) == "upstream.code: the national server has no code");
  auto p = server::parse_config(with(prefecture, R"(, "code": "130001"})", "}"), "/srv");
  REQUIRE(p.ok());
  CHECK(p->upstream->code.empty());
}

TEST_CASE("the resident system's client config: its CS, no listen, store or calendar",
          "[req:B11]") {
  const std::string client = R"({"tier": "resident-system", "code": "131016",
    "trust": {"root": "r", "server_ca": "c", "server_crl": "l", "certificate": "n", "key": "k"},
    "upstream": {"address": "127.0.0.1:7101", "code": "131016"}})";
  auto c = server::parse_config(client, "/srv");
  REQUIRE(c.ok());
  CHECK(c->tier == server::Tier::resident_system);
  CHECK(c->upstream->code == "131016");
  CHECK(refusal(with(client, R"("code": "131016"})", R"("code": "011002"})")) ==
        "upstream.code: the resident system of 131016 reports to CS 131016, not 011002");
  CHECK(refusal(with(client, R"("tier": "resident-system")",
                     R"("tier": "resident-system", "store": "sqlite:x")")) ==
        "store: the resident system is a client: it has no store");
}
