#include "issuer_tool/enrolment/card_manager.hpp"

#include <utility>

#include "common/iso7816/apdu.hpp"
#include "common/layout/card_manager.hpp"

namespace juki::enrolment {

using fcp::AccessRule;
using fcp::Op;
using host::perso::Error;
using host::perso::Outcome;
namespace layout = juki::layout::manager;

namespace {

// A transparent EF of the manager's DF holding `content`, readable always.
Outcome<> put_ef(host::perso::Personalizer& perso, std::uint16_t fid, ByteView content) {
  fcp::FileSpec ef;
  ef.fid = fid;
  ef.size = static_cast<std::uint32_t>(content.size());
  ef.rules.fill(AccessRule::never());
  ef.rule(Op::read) = AccessRule::always();
  if (auto r = perso.create(ef); !r) return r;
  // A run of zeros (the counter, an empty registry) is already what a new
  // file holds.
  bool zero = true;
  for (std::uint8_t b : content) zero = zero && b == 0;
  if (!zero)
    if (auto r = perso.write_binary(content); !r) return r;
  return perso.select_aid(layout::kAid);  // CREATE FILE selected the EF
}

Outcome<Bytes> read_ef(juki::Transport& t, std::uint16_t fid, std::uint32_t length,
                       const std::string& step) {
  const Bytes select = {static_cast<std::uint8_t>(fid >> 8), static_cast<std::uint8_t>(fid)};
  if (auto r = host::perso::exchange(t, apdu::encode_command(0x00, 0xA4, 0x02, 0x0C, select), step);
      !r)
    return unexpected(r.error());
  return host::perso::exchange(t, apdu::encode_command(0x00, 0xB0, 0x00, 0x00, {}, length), step);
}

Outcome<> select_manager(juki::Transport& t) {
  auto r = host::perso::exchange(t, apdu::encode_command(0x00, 0xA4, 0x04, 0x0C, layout::kAid),
                                 "SELECT card manager");
  if (!r) return unexpected(r.error());
  return {};
}

// Signs and sends `m` with the next sequence number of the card behind `t`.
Outcome<Bytes> send(juki::Transport& t, const card_manager::Authority& authority,
                    card_manager::Manifest m) {
  auto state = read_card_manager(t);
  if (!state) return unexpected(state.error());
  m.card_serial = state->serial;
  m.sequence = state->sequence + 1;
  const std::string step =
      "card manager: " + std::string(card_manager::operation_name(m.operation));
  auto data = card_manager::authorize(authority, m);
  if (!data) return unexpected(Error{step, 0, data.error()});
  return host::perso::exchange(t, card_manager::command(m.operation, *data), step);
}

}  // namespace

Outcome<> enrol_card_manager(host::perso::Personalizer& perso, const pki::Certificate& root,
                             const CardManagerRequest& request) {
  if (!pki::municipality_code_valid(request.municipality))
    return unexpected(Error{"card manager", 0, "not a municipality code: " + request.municipality});
  if (request.entries == 0 || request.entries * layout::kEntrySize > fcp::kMaxTransparentSize)
    return unexpected(Error{"card manager", 0, "registry size out of range"});
  if (auto r = perso.select_mf(); !r) return r;
  fcp::FileSpec df;
  df.type = fcp::FileType::df;
  df.fid = layout::kDf;
  df.name.assign(std::begin(layout::kAid), std::end(layout::kAid));
  df.rules.fill(AccessRule::never());
  if (auto r = perso.create(df); !r) return r;
  if (auto r = put_ef(perso, layout::kTrustAnchorEf, root.der()); !r) return r;
  if (auto r = put_ef(perso, layout::kMunicipalityEf, as_bytes(request.municipality)); !r) return r;
  if (auto r = put_ef(perso, layout::kCounterEf, Bytes(layout::kCounterLength, 0)); !r) return r;
  if (auto r = put_ef(perso, layout::kRegistryEf, Bytes(request.entries * layout::kEntrySize, 0));
      !r)
    return r;
  return perso.select_mf();
}

Outcome<CardManagerState> read_card_manager(juki::Transport& t) {
  if (auto r = select_manager(t); !r) return unexpected(r.error());
  auto serial = host::perso::exchange(t, apdu::encode_command(0x00, 0xCA, 0xDF, 0x22, {}, 256),
                                      "GET DATA serial");
  if (!serial) return unexpected(serial.error());
  if (serial->size() != 11) return unexpected(Error{"GET DATA serial", 0, "not 8 bytes"});
  auto municipality =
      read_ef(t, layout::kMunicipalityEf, layout::kMunicipalityLength, "READ municipality");
  if (!municipality) return unexpected(municipality.error());
  auto counter = read_ef(t, layout::kCounterEf, layout::kCounterLength, "READ counter");
  if (!counter) return unexpected(counter.error());
  if (counter->size() != layout::kCounterLength)
    return unexpected(Error{"READ counter", 0, "not 4 bytes"});
  if (auto r = select_manager(t); !r) return unexpected(r.error());
  CardManagerState s;
  s.serial.assign(serial->begin() + 3, serial->end());
  s.municipality.assign(municipality->begin(), municipality->end());
  s.sequence = load_be32(counter->data());
  return s;
}

Outcome<std::vector<card_manager::GeneratedKey>> install_application(
    juki::Transport& t, const card_manager::Authority& authority,
    const card_manager::Application& app) {
  card_manager::Manifest m;
  m.operation = card_manager::Operation::install;
  m.application = app;
  auto answer = send(t, authority, std::move(m));
  if (!answer) return unexpected(answer.error());
  auto keys = card_manager::parse_keys(*answer);
  if (!keys) return unexpected(Error{"card manager: install", 0, keys.error()});
  return std::move(*keys);
}

Outcome<> manage_application(juki::Transport& t, const card_manager::Authority& authority,
                             card_manager::Operation op, ByteView aid) {
  card_manager::Manifest m;
  m.operation = op;
  m.aid.assign(aid.begin(), aid.end());
  auto answer = send(t, authority, std::move(m));
  if (!answer) return unexpected(answer.error());
  return {};
}

Outcome<std::vector<card_manager::Listed>> list_applications(juki::Transport& t) {
  if (auto r = select_manager(t); !r) return unexpected(r.error());
  auto answer = host::perso::exchange(t, card_manager::list_command(), "LIST APPLICATIONS");
  if (!answer) return unexpected(answer.error());
  auto listed = card_manager::parse_list(*answer);
  if (!listed) return unexpected(Error{"LIST APPLICATIONS", 0, listed.error()});
  return std::move(*listed);
}

}  // namespace juki::enrolment
