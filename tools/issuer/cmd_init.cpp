// juki-issuer init and counter-keys: the records file of a municipality and the
// counter's keys file (which personalize reads).
#include "tools/issuer/issuer_cli.hpp"

#include <openssl/rand.h>

#include "common/bytes.hpp"
#include "issuer_tool/issuance/issue.hpp"
#include "pki/pki.hpp"

namespace juki::issuer_cli {

int cmd_init(const Globals& g, const std::string& municipality, Output& out) {
  auto r = rec::Records::create(g.db, municipality);
  if (!r) return fail(out, from_records(r.error()));
  out.doc = {{"ok", true}, {"db", g.db}, {"municipality", r->municipality()}};
  out.text << g.db << ": issuance records of municipality " << r->municipality() << "\n";
  return kExitOk;
}

// The counter's keys file: JSON {"transport_key": hex, "admin_master": hex}.
Result<issuance::CounterKeys, Failure> load_keys(const std::string& path) {
  auto keys = issuance::load_counter_keys(path);
  if (!keys)
    return unexpected(keys.error().io ? Failure{kExitIo, "io", keys.error().message}
                                      : usage(keys.error().message));
  return std::move(*keys);
}

int cmd_counter_keys(const std::string& path, const std::string& transport_key, Output& out) {
  auto tk = from_hex(transport_key);
  if (!tk || (tk->size() != 16 && tk->size() != 24 && tk->size() != 32))
    return fail(out, usage("--transport-key must be an AES key: 16, 24 or 32 bytes of hex"));
  Bytes master(16);
  if (RAND_bytes(master.data(), static_cast<int>(master.size())) != 1)
    return fail(out, {kExitIo, "random", "no randomness for the administration master key"});
  const json j = {{"transport_key", to_hex(*tk)}, {"admin_master", to_hex(master)}};
  const std::string text = j.dump(2) + "\n";
  auto written =
      pki::write_new_file(path, Bytes(text.begin(), text.end()), 0600);  // never overwrites
  if (!written) return fail(out, {kExitIo, "io", written.error().message});
  out.doc = {{"ok", true}, {"file", path}};
  out.text << path << ": the counter's keys (0600): the transport key and a new administration "
           << "master key\n";
  return kExitOk;
}

}  // namespace juki::issuer_cli
