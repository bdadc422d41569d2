#include "issuer_tool/apps/examples.hpp"

namespace juki::card_manager {

using fcp::AccessRule;
using fcp::FileSpec;
using fcp::FileType;
using fcp::Op;

namespace {

constexpr std::uint8_t kPin1 = 0x81;  // PIN 01 of the application (a specific reference)

Bytes text(const std::string& s, std::size_t size) {
  Bytes b(s.begin(), s.end());
  b.resize(size, ' ');
  return b;
}

FileSpec transparent(std::uint16_t fid, std::uint32_t size, std::uint8_t sfi, AccessRule read,
                     AccessRule update = AccessRule::never()) {
  FileSpec s;
  s.fid = fid;
  s.size = size;
  s.sfi = sfi;
  s.rules.fill(AccessRule::never());
  s.rule(Op::read) = read;
  s.rule(Op::update) = update;
  return s;
}

FileSpec records(FileType type, std::uint16_t fid, std::uint16_t length, std::uint16_t count,
                 std::uint8_t sfi, AccessRule read, AccessRule update, AccessRule append) {
  FileSpec s;
  s.type = type;
  s.fid = fid;
  s.record_length = length;
  s.max_records = count;
  s.sfi = sfi;
  s.rules.fill(AccessRule::never());
  s.rule(Op::read) = read;
  s.rule(Op::update) = update;
  s.rule(Op::append) = append;
  return s;
}

// The quota: what the application takes, rounded up to 256 bytes.
Application with_quota(Application app) {
  app.quota = (allocation(app) + 255u) & ~255u;
  return app;
}

}  // namespace

Application seal_registration(const SealRegistration& data) {
  Application app;
  app.name = "seal registration (印鑑登録証)";
  app.aid = {0xF0, 0x4A, 0x55, 0x4B, 0x49, 0x53, 0x45, 0x41, 0x4C};
  app.df = 0x5100;
  app.pins.push_back({.ref = 1, .format = 1, .min_length = 4, .max_length = 4, .retry_limit = 3});
  app.keys = {1};
  app.files.push_back({transparent(0x5101, SealRegistration::kNumberSize, 1, AccessRule::always()),
                       text(data.registration_number, SealRegistration::kNumberSize),
                       {}});
  app.files.push_back(
      {transparent(0x5102, SealRegistration::kRegistrantSize, 2, AccessRule::pin(kPin1)),
       text(data.registrant, SealRegistration::kRegistrantSize),
       {}});
  app.files.push_back({records(FileType::linear_variable, 0x5103, 64, 4, 3, AccessRule::pin(kPin1),
                               AccessRule::never(), AccessRule::pin(kPin1)),
                       {},
                       {}});
  return with_quota(std::move(app));
}

Application library_card(const LibraryCard& data) {
  Application app;
  app.name = "library card (図書館カード)";
  app.aid = {0xF0, 0x4A, 0x55, 0x4B, 0x49, 0x4C, 0x49, 0x42};
  app.df = 0x5200;
  app.pins.push_back({.ref = 1, .format = 1, .min_length = 4, .max_length = 8, .retry_limit = 5});
  app.keys = {1};
  app.files.push_back({transparent(0x5201, LibraryCard::kNumberSize, 1, AccessRule::always()),
                       text(data.member_number, LibraryCard::kNumberSize),
                       {}});
  app.files.push_back({records(FileType::linear_fixed, 0x5202, 32, 10, 2, AccessRule::pin(kPin1),
                               AccessRule::pin(kPin1), AccessRule::pin(kPin1)),
                       {},
                       {}});
  app.files.push_back({transparent(0x5203, LibraryCard::kBranchSize, 3, AccessRule::always(),
                                   AccessRule::pin(kPin1)),
                       text(data.branch, LibraryCard::kBranchSize),
                       {}});
  return with_quota(std::move(app));
}

Application kiosk_access(const KioskAccess& data) {
  Application app;
  app.name = "certificate kiosk access (証明書コンビニ交付)";
  app.aid = {0xF0, 0x4A, 0x55, 0x4B, 0x49, 0x4B, 0x49, 0x4F, 0x53, 0x4B};
  app.df = 0x5300;
  app.pins.push_back(
      {.ref = 1, .format = 1, .min_length = 4, .max_length = 4, .retry_limit = 3, .puk_ref = 2});
  app.pins.push_back({.ref = 2, .format = 1, .min_length = 8, .max_length = 8, .retry_limit = 5});
  app.keys = {1, 2};
  app.files.push_back({transparent(0x5301, KioskAccess::kAccessIdSize, 1, AccessRule::always()),
                       text(data.access_id, KioskAccess::kAccessIdSize),
                       {}});
  Bytes permissions = data.permissions;
  permissions.resize(8, 0);
  app.files.push_back({transparent(0x5302, 8, 2, AccessRule::pin(kPin1)), permissions, {}});
  app.files.push_back({records(FileType::linear_variable, 0x5303, 48, 16, 3, AccessRule::pin(kPin1),
                               AccessRule::never(), AccessRule::pin(kPin1)),
                       {},
                       {}});
  return with_quota(std::move(app));
}

std::vector<Application> example_applications() {
  return {seal_registration(), library_card(), kiosk_access()};
}

}  // namespace juki::card_manager
