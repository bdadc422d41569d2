// Fuzzes what a prefecture or the national server reads from the wire
// (specs/network.md 5, 6.3): an Envelope's bytes, its signature check, the
// batch inside and its changes' checks, then the ledger's exactly-once
// application on an in-memory SQLite store. Never a crash; the ledger's
// invariants hold: a receipt never lowers the high-water mark, counts no more
// than the batch had, and the stored history has exactly high-water rows.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "backend/ledger/ledger.hpp"
#include "backend/messaging/envelope.hpp"
#include "backend/wire/identity.hpp"
#include "pki/pki.hpp"

using namespace juki;
using namespace juki::backend;
namespace proto = juki::net::v1;

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

// A trust store of a fresh PKI, written once to a temporary folder.
const trust::TrustStore& trust_store() {
  static const trust::TrustStore store = [] {
    char dir[] = "/tmp/juki-fuzz-XXXXXX";
    require(mkdtemp(dir) != nullptr);
    const std::string d = dir;
    auto root = pki::create_root();
    auto ca = pki::create_ca(root->key, root->cert, pki::CaKind::server);
    pki::LeafRequest request;
    request.authorization = {pki::Role::prefecture, std::string("130001"), std::nullopt};
    request.common_name = "fuzz";
    auto leaf = pki::issue_new_key(*ca, request);
    pki::CrlRequest crl;
    crl.this_update = static_cast<std::int64_t>(time(nullptr)) - 60;
    require(pki::write_new_file(d + "/root.der", root->cert.der(), 0644).ok());
    require(pki::write_new_file(d + "/ca.der", ca->cert.der(), 0644).ok());
    require(pki::write_new_file(d + "/ca.crl", *pki::create_crl(*ca, crl), 0644).ok());
    require(pki::write_new_file(d + "/leaf.der", leaf->cert.der(), 0644).ok());
    require(leaf->key.save(d + "/leaf.key").ok());
    trust::TrustFiles files;
    files.root = d + "/root.der";
    files.server_ca = d + "/ca.der";
    files.server_crl = d + "/ca.crl";
    files.certificate = d + "/leaf.der";
    files.key = d + "/leaf.key";
    auto store = trust::TrustStore::load(files, static_cast<std::int64_t>(time(nullptr)));
    require(store.ok());
    return std::move(*store);
  }();
  return store;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  proto::Envelope envelope;
  if (!envelope.ParseFromArray(data, static_cast<int>(size))) return 0;
  const auto now = static_cast<std::int64_t>(time(nullptr));
  (void)messaging::check_signature(trust_store(), envelope, now);

  proto::NotificationBatch batch;
  if (envelope.kind() != proto::NOTIFICATION_BATCH || !batch.ParseFromString(envelope.payload()))
    return 0;
  static const auto today = *calendar::Date::parse("2026-12-07");
  for (const auto& change : batch.changes())
    if (auto problem = wire::check_change(change, today)) require(!problem->field.empty());

  // The ledger, fresh for each input: the same batch delivered twice.
  auto connection = store::Connection::open("sqlite::memory:");
  require(connection.ok());
  auto ledger = ledger::Ledger::open(std::move(*connection), {true, 4});
  require(ledger.ok());
  trust::Peer signer;
  signer.code = batch.sender();
  signer.fingerprint = Bytes(32, 1);
  signer.certificate = Bytes{0x30, 0x00};
  std::int64_t high_water = 0;
  for (int round = 0; round < 2; ++round) {
    auto receipt = ledger->deliver(envelope, batch, signer, now);
    if (!receipt) {
      require(!receipt.error().message.empty());
      continue;
    }
    require(static_cast<std::int64_t>(receipt->high_water()) >= high_water);
    require(receipt->applied() + receipt->duplicates() <=
            static_cast<std::uint32_t>(batch.changes_size()));
    high_water = static_cast<std::int64_t>(receipt->high_water());
    auto rows = ledger->connection().query_one("SELECT count(*) FROM history WHERE sender = $1",
                                               {batch.sender()});
    if (rows) require(rows->integer(0) == high_water);
  }
  return 0;
}
