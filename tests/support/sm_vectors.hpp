// Published vectors for AES secure messaging and the ICAO key derivation, shared
// by the card's tests (tests/card_os/test_secure_messaging.cpp) and the interop
// tests (tests/host/test_sm_interop.cpp), with their sources.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <string_view>

#include "common/bytes.hpp"
#include "common/sm_format.hpp"

namespace juki::test::sm_vectors {

inline Bytes hex(std::string_view text) {
  auto b = from_hex(text);
  REQUIRE(b);
  return *b;
}

inline sm_format::Ssc ssc_of(std::string_view text) {
  Bytes b = hex(text);
  REQUIRE(b.size() == 16);
  sm_format::Ssc s{};
  std::copy(b.begin(), b.end(), s.begin());
  return s;
}

// --- Published vectors ------------------------------------------------------------------
// ICAO Doc 9303 Part 11, Appendix G (worked example, PACE generic mapping), G.1 ECDH on
// brainpoolP256r1 with AES-128: the shared secret (x-coordinate of the shared point) and
// the session keys KSEnc / KSMac derived from it with the KDF of 9.7.1 (SHA-1).
// Cross-checked as reproduced in ZeroPass/dmrtd test/kdf_test.dart and gmrtd/gmrtd
// cryptoutils kdf tests.
inline constexpr std::string_view kG1Secret =
    "28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925";
inline constexpr std::string_view kG1KsEnc = "F5F0E35C0D7161EE6724EE513A0D9A7F";
inline constexpr std::string_view kG1KsMac = "FE251C7858B356B24514B3BD5F4297D1";
// ICAO 9303-11 Appendix G.2 (DH, 1024-bit MODP group with 160-bit prime order subgroup,
// AES-128), same source (ZeroPass/dmrtd test/kdf_test.dart).
inline constexpr std::string_view kG2Secret =
    "6BABC7B3A72BCD7EA385E4C62DB2625BD8613B24149E146A629311C4CA6698E38B834B6A9E9CD7184BA8834A"
    "FF5043D436950C4C1E7832367C10CB8C314D40E5990B0DF7013E64B4549E2270923D06F08CFF6BD3E977DDE6"
    "ABE4C31D55C0FA2E465E553E77BDF75E3193D3834FC26E8EB1EE2FA1E4FC97C18C3F6CFFFE2607FD";
inline constexpr std::string_view kG2KsEnc = "2F7F46ADCC9E7E521B45D192FAFA9126";
inline constexpr std::string_view kG2KsMac = "805A1D27D45A5116F73C54469462B7D8";

// AES-128 secure messaging APDUs from gmrtd/gmrtd iso7816/secure_messaging_test.go
// (TestSecureMessageEncode / TestSecureMessageDecode, the AES cases): an MSE:Set AT
// command protected at SSC ...BA -> ...BB, and a 224-byte response unprotected at
// SSC ...0B -> ...0C. (ICAO 9303-11 itself gives worked SM APDUs only for 3DES, Appendix D.)
inline constexpr std::string_view kCmdKEnc = "cc86415f2ed7e8fd663b754265695ae1";
inline constexpr std::string_view kCmdKMac = "581e84b8ee06c4d3eee30461498d7fb3";
inline constexpr std::string_view kCmdSscBefore = "000000000000000000000000000000ba";
inline constexpr std::string_view kCmdPlainData = "800a04007f000702020302028401c3";
inline constexpr std::string_view kCmdPlain = "002241a40f800a04007f000702020302028401c3";
inline constexpr std::string_view kCmdProtected =
    "0c2241a41d871101980953d37f67558690045d78a853b18a8e08929767a2cef172e200";
inline constexpr std::string_view kRspKEnc = "a8e85e938514ec67ae33cda3d43d3c48";
inline constexpr std::string_view kRspKMac = "27f1adeb705a049a305b0c619b14b9b3";
inline constexpr std::string_view kRspSscBefore = "0000000000000000000000000000000b";
inline constexpr std::string_view kRspProtected =
    "8781e1012fabf9e0655d7e987fd28a8aeb19c9cadd990d49399799ed1fe465bcea56da9ba3024291d40d23d7f1"
    "e00485d71faddc6d8c1382e8028dd22efdcc72ed47663d56d20dd6c4b867956fe0507313083ae7fc54fb4613"
    "3f184febbe13ad6fd3e2616a1f4a829e75ada1a0e443ca738288f6014be8a7745d8259b089e6bee35bcc4bf5"
    "b63db5fdd84244f67eca099213b70a861b4487225aa68af684278fceb4cb809de42be3ee95b0e0d72bcdb0ed"
    "47cb56efc264e04a9397a90e81ad1d81efa2d14b2ca8ec7bd997f4b1c1fd344d5dee8589c38b227ca4cb3581"
    "0060a7cc76403e990290008e083eb47ef4fa82afc99000";
inline constexpr std::string_view kRspPlain =
    "a729901d1a71874700133107ec53306404307bc382c63d8c150c3c72080ace05afa0c2bea28e4fb227871391"
    "65efba91f90f8aa5814a503ad4eb04a8c7dd22ce2826043004a8c7dd22ce28268b39b55416f0447c2fb77de1"
    "07dcd2a62e880ea53eeb62d57cb4390295dbc9943ab78696fa504c110461041d1c64f068cf45ffa2a63a81b7"
    "c13f6b8847a3e77ef14fe3db7fcafe0cbd10e8e826e03436d646aaef87b2e247d4af1e8abe1d7520f9c2a45c"
    "b1eb8e95cfd55262b70b29feec5864e19c054ff99129280e4646217791811142820341263c53150231008cb9"
    "1e82a3";

}  // namespace juki::test::sm_vectors
