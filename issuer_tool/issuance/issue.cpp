#include "issuer_tool/issuance/issue.hpp"

#include <fstream>
#include <iterator>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/bytes.hpp"

namespace juki::issuance {

Result<CounterKeys, KeysFileError> parse_counter_keys(std::string_view text,
                                                      const std::string& where) {
  using nlohmann::json;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("transport_key") ||
      !j.contains("admin_master") || !j["transport_key"].is_string() ||
      !j["admin_master"].is_string())
    return unexpected(
        KeysFileError{false, where + ": not a counter keys file (transport_key, admin_master)"});
  auto tk = from_hex(j["transport_key"].get<std::string>());
  auto am = from_hex(j["admin_master"].get<std::string>());
  auto aes = [](const std::optional<Bytes>& k) {
    return k && (k->size() == 16 || k->size() == 24 || k->size() == 32);
  };
  if (!aes(tk) || !aes(am))
    return unexpected(
        KeysFileError{false, where + ": the keys must be AES keys (16, 24 or 32 bytes of hex)"});
  return CounterKeys{*tk, *am};
}

Result<CounterKeys, KeysFileError> load_counter_keys(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected(KeysFileError{true, "cannot read " + path});
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return unexpected(KeysFileError{true, "cannot read " + path});
  return parse_counter_keys(text, path);
}

bool IssueError::transport() const {
  return (kind == Kind::open || kind == Kind::left_personalizing) &&
         card.kind == Failure::Kind::transport;
}

std::string IssueError::describe() const {
  switch (kind) {
    case Kind::open:
      return card.describe();
    case Kind::known_card:
      return "card " + serial + " is recorded already (" +
             std::string(records::to_string(known->state)) + ", application " +
             std::to_string(known->application_id) + ")";
    case Kind::records:
      return records.message;
    case Kind::left_personalizing:
      return card.describe() + "; card " + serial + " stays in personalization";
    case Kind::spoiled:
      return card.describe() + "; card " + serial + " recorded as spoiled";
  }
  return "?";
}

Result<Issued, IssueError> issue_one(records::Records& records, juki::Transport& t,
                                     std::int64_t application_id, const Authorities& authorities,
                                     const CounterKeys& keys, const CardOrder& order,
                                     const records::Actor& actor, const IssueProgress& progress) {
  IssueError e;
  // Checked before the card is opened: opening it ends its transport lock.
  if (auto ok = check_order(order); !ok) {
    e.card.kind = Failure::Kind::order;
    e.card.message = ok.error();
    return unexpected(std::move(e));
  }
  auto opened = open(t, keys.transport_key);
  if (!opened) {
    e.card = opened.error();
    return unexpected(std::move(e));
  }
  e.serial = to_hex(opened->serial);
  // A card the records already know: resumed only for the same application.
  if (auto known = records.card(e.serial); known) {
    if (known->state != records::CardState::personalizing ||
        known->application_id != application_id) {
      e.kind = IssueError::Kind::known_card;
      e.known = std::move(*known);
      return unexpected(std::move(e));
    }
  } else if (auto begun = records.begin_personalization(application_id, e.serial, actor); !begun) {
    e.kind = IssueError::Kind::records;
    e.records = begun.error();
    return unexpected(std::move(e));
  }
  if (progress.card) progress.card(e.serial, opened->resumed);
  auto made = personalize(*opened, authorities, keys, order, progress.step);
  if (!made) {
    e.card = made.error();
    if (e.card.kind == Failure::Kind::transport || e.card.kind == Failure::Kind::pki_directory) {
      // Left in personalization: the same card, opened again, resumes it.
      e.kind = IssueError::Kind::left_personalizing;
      return unexpected(std::move(e));
    }
    if (auto spoiled = records.spoil(e.serial, e.card.describe(), actor); !spoiled) {
      e.kind = IssueError::Kind::records;
      e.records = spoiled.error();
      return unexpected(std::move(e));
    }
    e.kind = IssueError::Kind::spoiled;
    return unexpected(std::move(e));
  }
  auto card = records.finish_personalization(e.serial, order.issue_date, actor);
  if (!card) {
    e.kind = IssueError::Kind::records;
    e.records = card.error();
    return unexpected(std::move(e));
  }
  return Issued{std::move(*card), std::move(*made), opened->resumed};
}

}  // namespace juki::issuance
