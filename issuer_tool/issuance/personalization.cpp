#include "issuer_tool/issuance/personalization.hpp"

#include <algorithm>
#include <ctime>
#include <utility>

#include "common/card_information.hpp"
#include "common/check_digits.hpp"
#include "common/iso7816/apdu.hpp"
#include "common/layout/card_manager.hpp"
#include "common/layout/jpki.hpp"
#include "common/layout/juki_ap.hpp"
#include "host_middleware/crypto/host_crypto.hpp"
#include "host_middleware/personalization/personalization.hpp"
#include "issuer_tool/enrolment/card_manager.hpp"
#include "issuer_tool/enrolment/enrolment.hpp"
#include "issuer_tool/enrolment/juki_ap.hpp"
#include "issuer_tool/issuance/card_certificates.hpp"
#include "pki/directory.hpp"

namespace juki::issuance {

namespace {

namespace juki_ap = juki::layout::juki_ap;
namespace jpki = juki::layout::jpki;
namespace manager = juki::layout::manager;

// ATR status indicator (specs/card-os.md 1): the byte after 81 in the
// historical bytes, at a fixed offset in the card's ATR.
constexpr std::size_t kAtrLifeCycleAt = 17;
constexpr std::uint8_t kAtrTransportLocked = 0x01;
constexpr std::uint8_t kAtrPersonalization = 0x03;
constexpr std::uint8_t kAdminKeyRef = 0x02;
constexpr std::string_view kJpkiToken = "JPKIAPICCTOKEN";
constexpr std::string_view kAdminLabel = "JUKI card admin";

Failure failure(Step step, const host::perso::Error& e) {
  Failure f;
  f.step = step;
  f.sw = e.sw;
  f.message = e.describe();
  if (e.transport)
    f.kind = Failure::Kind::transport;
  else if (e.sw != 0)
    f.kind = Failure::Kind::refused;
  else
    f.kind = Failure::Kind::authority;  // the PKI or the request, not the card
  return f;
}

Failure failure(Step step, Failure::Kind kind, std::string message, std::uint16_t sw = 0) {
  Failure f;
  f.kind = kind;
  f.step = step;
  f.sw = sw;
  f.message = std::move(message);
  return f;
}

// READ BINARY of `fid` in the application `aid` (or the MF when empty), the
// whole EF in one extended read: its bytes.
Result<Bytes, host::perso::Error> read_ef(juki::Transport& t, ByteView aid, std::uint16_t fid) {
  const std::string step =
      "READ " + to_hex(aid) + "/" + to_hex(Bytes{std::uint8_t(fid >> 8), std::uint8_t(fid)});
  const Bytes select_app = aid.empty()
                               ? apdu::encode_command(0x00, 0xA4, 0x00, 0x0C, Bytes{0x3F, 0x00})
                               : apdu::encode_command(0x00, 0xA4, 0x04, 0x0C, aid);
  if (auto r = host::perso::exchange(t, select_app, step); !r) return unexpected(r.error());
  const Bytes id = {static_cast<std::uint8_t>(fid >> 8), static_cast<std::uint8_t>(fid)};
  if (auto r = host::perso::exchange(t, apdu::encode_command(0x00, 0xA4, 0x02, 0x0C, id), step); !r)
    return unexpected(r.error());
  // Le 0000 (65536): the EF's end comes first, with 6282 and all its bytes.
  auto raw = t.transmit(apdu::encode_command(0x00, 0xB0, 0x00, 0x00, {}, 65536));
  if (!raw) return unexpected(host::perso::Error{step, 0, raw.error().message, true});
  auto r = apdu::Response::decode(*raw);
  if (!r) return unexpected(host::perso::Error{step, 0, "malformed response: " + r.error()});
  if (r->sw != sw::kOk && r->sw != sw::kEndReached)
    return unexpected(host::perso::Error{
        step, r->sw,
        to_hex(Bytes{std::uint8_t(r->sw >> 8), std::uint8_t(r->sw)}) + " " + sw::meaning(r->sw)});
  return std::move(r->data);
}

bool starts_with(ByteView content, ByteView prefix) {
  return content.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), content.begin());
}

// The DFs a personalization creates, deleted with everything below them
// (DELETE FILE, with personalization rights), where they exist.
Result<void, Failure> roll_back(juki::Transport& t) {
  auto step_failure = [](const host::perso::Error& e) { return failure(Step::roll_back, e); };
  const Bytes mf = {0x3F, 0x00};
  auto select = [&](const Bytes& command) -> Result<bool, Failure> {
    auto raw = t.transmit(command);
    if (!raw)
      return unexpected(step_failure(host::perso::Error{"SELECT", 0, raw.error().message, true}));
    auto r = apdu::Response::decode(*raw);
    if (!r) return unexpected(failure(Step::roll_back, Failure::Kind::refused, r.error()));
    if (r->sw == sw::kFileNotFound) return false;
    if (r->sw != sw::kOk)
      return unexpected(
          failure(Step::roll_back, Failure::Kind::refused, "SELECT: " + sw::meaning(r->sw), r->sw));
    return true;
  };
  auto remove_current_df = [&](const std::string& what) -> Result<void, Failure> {
    if (auto r = host::perso::exchange(t, apdu::encode_command(0x00, 0xE4, 0x00, 0x00),
                                       "DELETE FILE " + what);
        !r)
      return unexpected(step_failure(r.error()));
    return {};
  };
  const std::pair<const std::uint8_t*, std::size_t> named[] = {
      {juki_ap::kAid, sizeof juki_ap::kAid},
      {jpki::kAid, sizeof jpki::kAid},
      {manager::kAid, sizeof manager::kAid}};
  for (const auto& [aid, size] : named) {
    const ByteView name(aid, size);
    auto found = select(apdu::encode_command(0x00, 0xA4, 0x04, 0x0C, name));
    if (!found) return unexpected(found.error());
    if (*found)
      if (auto r = remove_current_df(to_hex(name)); !r) return r;
    if (auto r = select(apdu::encode_command(0x00, 0xA4, 0x00, 0x0C, mf)); !r)
      return unexpected(r.error());
  }
  return {};
}

// Every file the personalization wrote, read back and compared.
Result<void, Failure> verify(juki::Transport& t, const CardOrder& order, ByteView serial,
                             const Authorities& authorities, const Personalized& made) {
  struct Expected {
    ByteView aid;
    std::uint16_t fid;
    Bytes content;
    bool prefix;  // a certificate EF may be longer than its DER
  };
  card_information::Fields fields{order.municipality, order.issue_date, order.face,
                                  Bytes(serial.begin(), serial.end())};
  auto info = card_information::encode(fields);
  if (!info)
    return unexpected(failure(Step::verify, Failure::Kind::order,
                              std::string(card_information::describe(info.error()))));
  Bytes token(kJpkiToken.begin(), kJpkiToken.end());
  token.resize(enrolment::kJpkiTokenLength, ' ');
  const ByteView juki(juki_ap::kAid, sizeof juki_ap::kAid);
  const ByteView jp(jpki::kAid, sizeof jpki::kAid);
  const ByteView cm(manager::kAid, sizeof manager::kAid);
  const Expected all[] = {
      {juki, juki_ap::kResidentCodeEf,
       Bytes(order.resident_code.begin(), order.resident_code.end()), false},
      {juki, juki_ap::kCardInfoEf, *info, false},
      {juki, enrolment::kTrustAnchorEf, authorities.root.der(), true},
      {juki, enrolment::kCardCertEf, made.card_certificate.der(), true},
      {juki, enrolment::kCardCaEf, authorities.card_ca.cert.der(), true},
      {jp, jpki::kTokenEf, token, false},
      {jp, jpki::kAuthCertEf, made.jpki.auth.der(), true},
      {jp, jpki::kAuthCaEf, authorities.jpki_auth.cert.der(), true},
      {jp, jpki::kSignCertEf, made.jpki.sign.der(), true},
      {jp, jpki::kSignCaEf, authorities.jpki_sign.cert.der(), true},
      {cm, manager::kTrustAnchorEf, authorities.root.der(), true},
      {cm, manager::kMunicipalityEf, Bytes(order.municipality.begin(), order.municipality.end()),
       false},
  };
  for (const Expected& e : all) {
    auto content = read_ef(t, e.aid, e.fid);
    if (!content) return unexpected(failure(Step::verify, content.error()));
    const bool same = e.prefix ? starts_with(*content, e.content) : *content == e.content;
    if (!same)
      return unexpected(failure(Step::verify, Failure::Kind::verification,
                                "EF " +
                                    to_hex(Bytes{std::uint8_t(e.fid >> 8), std::uint8_t(e.fid)}) +
                                    " of " + to_hex(e.aid) + " does not hold what was written"));
  }
  return {};
}

}  // namespace

// ---------------------------------------------------------------- authorities and keys

Result<Authorities, std::string> Authorities::load(const std::string& dir) {
  namespace d = pki::directory;
  auto root = d::load_certificate(dir, d::kRootStem);
  if (!root) return unexpected(root.error().message);
  auto card_ca = d::load_ca(dir, pki::CaKind::card);
  if (!card_ca) return unexpected(card_ca.error().message);
  auto auth = d::load_jpki_ca(dir, pki::JpkiKind::auth);
  if (!auth) return unexpected(auth.error().message + " (juki-pki init-jpki " + dir + ")");
  auto sign = d::load_jpki_ca(dir, pki::JpkiKind::sign);
  if (!sign) return unexpected(sign.error().message + " (juki-pki init-jpki " + dir + ")");
  return Authorities{std::move(*root), std::move(*card_ca), std::move(*auth), std::move(*sign),
                     dir};
}

Result<Bytes, std::string> admin_key(ByteView master, ByteView serial) {
  // [i]=01 || Label || 00 || Context (the serial) || [L]=0080 (128 bits)
  Bytes input;
  input.reserve(1 + kAdminLabel.size() + 1 + serial.size() + 2);
  input.push_back(0x01);
  input.insert(input.end(), kAdminLabel.begin(), kAdminLabel.end());
  input.push_back(0x00);
  input.insert(input.end(), serial.begin(), serial.end());
  input.push_back(0x00);
  input.push_back(0x80);
  return host::crypto::aes_cmac(master, input);
}

Result<void, std::string> check_order(const CardOrder& o) {
  if (!check_digits::resident_code_valid(o.resident_code))
    return unexpected("resident code '" + o.resident_code +
                      "' is not 10 digits and their check digit");
  if (!check_digits::municipality_valid(o.municipality))
    return unexpected("municipality '" + o.municipality +
                      "' is not 5 digits and their check digit");
  if (!card_information::parse_date(o.issue_date))
    return unexpected("issue date '" + o.issue_date + "' is not a date YYYYMMDD");
  if (o.face != 'A' && o.face != 'B')
    return unexpected(std::string("face '") + o.face + "' is neither A nor B");
  if (o.holder.empty() || o.holder.size() > 64)
    return unexpected(std::string("the holder's name must have 1 to 64 characters"));
  auto all_of = [](const std::string& s, auto pred) {
    return std::all_of(s.begin(), s.end(),
                       [&](char c) { return pred(static_cast<unsigned char>(c)); });
  };
  auto digit = [](unsigned char c) { return c >= '0' && c <= '9'; };
  auto alnum = [&](unsigned char c) {
    return digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  };
  if (o.jpki_auth_pin.size() != 4 || !all_of(o.jpki_auth_pin, digit))
    return unexpected(std::string("the JPKI authentication PIN must be 4 digits"));
  if (o.jpki_sign_pin.size() < jpki::kSignPinMin || o.jpki_sign_pin.size() > jpki::kSignPinMax ||
      !all_of(o.jpki_sign_pin, alnum))
    return unexpected(std::string("the JPKI signature PIN must be 6 to 16 letters and digits"));
  return {};
}

// ---------------------------------------------------------------- steps

std::string_view step_name(Step step) {
  switch (step) {
    case Step::open:
      return "open";
    case Step::roll_back:
      return "roll back";
    case Step::admin_key:
      return "admin key";
    case Step::juki_ap:
      return "Juki AP";
    case Step::jpki:
      return "JPKI";
    case Step::card_manager:
      return "card manager";
    case Step::verify:
      return "verify";
    case Step::record:
      return "record";
    case Step::issue:
      return "issue";
  }
  return "?";
}

std::string_view kind_name(Failure::Kind kind) {
  switch (kind) {
    case Failure::Kind::order:
      return "order";
    case Failure::Kind::card_state:
      return "card state";
    case Failure::Kind::wrong_transport_key:
      return "wrong transport key";
    case Failure::Kind::transport:
      return "transport";
    case Failure::Kind::refused:
      return "refused";
    case Failure::Kind::verification:
      return "verification";
    case Failure::Kind::authority:
      return "authority";
    case Failure::Kind::pki_directory:
      return "pki directory";
  }
  return "?";
}

std::string Failure::describe() const {
  return std::string(step_name(step)) + ": " + message;
}

Result<OpenedCard, Failure> open(juki::Transport& t, ByteView transport_key) {
  const Bytes atr = t.atr();
  if (atr.size() <= kAtrLifeCycleAt || atr[kAtrLifeCycleAt - 1] != 0x81)
    return unexpected(failure(Step::open, Failure::Kind::card_state,
                              "not a Juki card (ATR " + to_hex(atr) + ")"));
  const std::uint8_t state = atr[kAtrLifeCycleAt];
  if (state != kAtrTransportLocked && state != kAtrPersonalization)
    return unexpected(failure(Step::open, Failure::Kind::card_state,
                              state == 0x04   ? "the card is issued already"
                              : state == 0x05 ? "the card is active already"
                              : state == 0x0C
                                  ? "the card is terminated"
                                  : "the card's life cycle is " + to_hex(Bytes{state})));
  OpenedCard card;
  card.resumed = state == kAtrPersonalization;
  host::perso::Personalizer perso(t);
  if (auto r = perso.authenticate(transport_key); !r) {
    Failure f = failure(Step::open, r.error());
    if ((r.error().sw & 0xFFF0) == 0x63C0) {
      f.kind = Failure::Kind::wrong_transport_key;
      card.transport_tries_left = r.error().sw & 0x0F;
      f.message = "the card refused the transport key (" +
                  std::to_string(card.transport_tries_left) + " tries left)";
    } else if (r.error().sw == sw::kAuthMethodBlocked) {
      f.kind = Failure::Kind::card_state;
      f.message = "the card's transport key is blocked";
    }
    return unexpected(f);
  }
  auto serial = perso.get_data(0xDF22);
  if (!serial) return unexpected(failure(Step::open, serial.error()));
  card.serial = std::move(*serial);
  card.session = perso.release_session();
  return card;
}

Result<Personalized, Failure> personalize(const OpenedCard& card, const Authorities& authorities,
                                          const CounterKeys& keys, const CardOrder& order,
                                          const Progress& progress) {
  if (auto ok = check_order(order); !ok)
    return unexpected(failure(Step::open, Failure::Kind::order, ok.error()));
  auto begin = [&](Step s) {
    if (progress) progress(s);
  };
  // Everything goes under the personalization session open() started.
  if (!card.session || !card.session->active())
    return unexpected(failure(Step::open, Failure::Kind::order,
                              "the card was not opened for personalization (no session)"));
  juki::Transport& channel = *card.session;
  host::perso::Personalizer perso(channel);

  if (card.resumed) {
    begin(Step::roll_back);
    if (auto r = roll_back(channel); !r) return unexpected(r.error());
  }

  begin(Step::admin_key);
  auto admin = admin_key(keys.admin_master, card.serial);
  if (!admin)
    return unexpected(failure(Step::admin_key, Failure::Kind::order,
                              "the administration master key: " + admin.error()));
  host::perso::KeyDefinition admin_def;
  admin_def.ref = kAdminKeyRef;
  admin_def.value = std::move(*admin);
  if (auto r = perso.select_mf(); !r) return unexpected(failure(Step::admin_key, r.error()));
  if (auto r = perso.put_key(admin_def); !r) return unexpected(failure(Step::admin_key, r.error()));

  begin(Step::juki_ap);
  enrolment::JukiApRequest juki;
  juki.resident_code = order.resident_code;
  juki.municipality = order.municipality;
  juki.issue_date = order.issue_date;
  juki.face = order.face;
  juki.serial = card.serial;
  auto card_certificate =
      enrolment::enrol_juki_ap(perso, authorities.root, authorities.card_ca, juki);
  if (!card_certificate) return unexpected(failure(Step::juki_ap, card_certificate.error()));

  begin(Step::jpki);
  enrolment::JpkiRequest jp;
  jp.holder = order.holder;
  jp.auth_pin.assign(order.jpki_auth_pin.begin(), order.jpki_auth_pin.end());
  jp.sign_pin.assign(order.jpki_sign_pin.begin(), order.jpki_sign_pin.end());
  jp.token.assign(kJpkiToken.begin(), kJpkiToken.end());
  auto jpki_certificates =
      enrolment::enrol_jpki(perso, authorities.jpki_auth, authorities.jpki_sign, jp);
  if (!jpki_certificates) return unexpected(failure(Step::jpki, jpki_certificates.error()));

  begin(Step::card_manager);
  if (auto r = enrolment::enrol_card_manager(perso, authorities.root, {order.municipality}); !r)
    return unexpected(failure(Step::card_manager, r.error()));

  Personalized made{card.serial, std::move(*card_certificate), std::move(*jpki_certificates), {}};
  made.expiry = card_information::format_date(card_information::years_after(
      *card_information::parse_date(order.issue_date), card_information::kValidityYears));
  begin(Step::verify);
  if (auto r = verify(channel, order, card.serial, authorities, made); !r)
    return unexpected(r.error());

  // Before SET STATUS: a card that is handed out has its certificates in the
  // index (a failure here leaves the card in personalization, resumable).
  begin(Step::record);
  if (!authorities.directory.empty()) {
    const std::vector<CardCertificate> certs = {
        {"card", authorities.card_ca.cert, made.card_certificate},
        {"jpki-auth", authorities.jpki_auth.cert, made.jpki.auth},
        {"jpki-sign", authorities.jpki_sign.cert, made.jpki.sign}};
    if (auto r = record_card_certificates(authorities.directory, to_hex(card.serial), certs,
                                          std::time(nullptr));
        !r)
      return unexpected(
          failure(Step::record, Failure::Kind::pki_directory,
                  std::string(pki::to_string(r.error().kind)) + ": " + r.error().message));
  }

  begin(Step::issue);
  if (auto r = perso.select_mf(); !r) return unexpected(failure(Step::issue, r.error()));
  if (auto r = perso.finish(); !r) return unexpected(failure(Step::issue, r.error()));
  card.session->end();  // the card ended its half with SET STATUS
  return made;
}

}  // namespace juki::issuance
