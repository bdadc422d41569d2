// Access rules: the security attribute of one operation on one file.
// A rule is a conjunction: every condition it names must hold. An empty rule
// means "always"; the NEVER flag makes it unsatisfiable. Roles are a set
// (any one of them suffices), filled by mutual authentication (later issue).
#pragma once

#include <array>
#include <cstdint>

namespace juki::fcp {

// Operations that carry a rule (FCP tag 86, specs/card-os.md "Security attributes").
enum class Op : std::uint8_t {
  read = 0,         // READ BINARY / READ RECORD
  update = 1,       // UPDATE BINARY / UPDATE RECORD
  append = 2,       // APPEND RECORD
  deactivate = 3,   // DEACTIVATE FILE
  activate = 4,     // ACTIVATE FILE
  delete_file = 5,  // DELETE FILE (of this file)
  create = 6,       // CREATE FILE (child of this DF)
  terminate = 7,    // TERMINATE CARD USAGE (rule of the MF)
};
inline constexpr std::size_t kOpCount = 8;

struct AccessRule {
  static constexpr std::uint8_t kNever = 0x01;
  static constexpr std::uint8_t kSecureMessaging = 0x02;
  static constexpr std::uint8_t kPin = 0x04;
  static constexpr std::uint8_t kKey = 0x08;
  static constexpr std::uint8_t kRole = 0x10;
  static constexpr std::uint8_t kKnownFlags = 0x1F;

  std::uint8_t flags = kNever;
  std::uint8_t pin_ref = 0;  // as in VERIFY P2: 0x80|n local to the DF, n global (MF)
  std::uint8_t key_ref = 0;  // as in EXTERNAL AUTHENTICATE P2
  std::uint16_t roles = 0;   // any of these authenticated roles

  static constexpr AccessRule always() { return {0, 0, 0, 0}; }
  static constexpr AccessRule never() { return {kNever, 0, 0, 0}; }
  static constexpr AccessRule pin(std::uint8_t ref) { return {kPin, ref, 0, 0}; }
  static constexpr AccessRule key(std::uint8_t ref) { return {kKey, 0, ref, 0}; }
  bool is_always() const { return flags == 0; }
  bool is_never() const { return (flags & kNever) != 0; }
  friend bool operator==(const AccessRule&, const AccessRule&) = default;
};

using AccessRules = std::array<AccessRule, kOpCount>;

}  // namespace juki::fcp
