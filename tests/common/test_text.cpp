// UTF-8 and XML text (common/text.hpp): well-formed UTF-8 only, and XML that
// stays well-formed whatever it holds.
#include <catch2/catch.hpp>

#include "common/text.hpp"

using namespace juki::text;

TEST_CASE("decode_utf8 takes well-formed UTF-8 and refuses the rest") {
  CHECK(decode_utf8("住基 A") == std::u32string{U'住', U'基', U' ', U'A'});
  CHECK(decode_utf8("\xF0\x9F\x98\x80") == std::u32string{U'\U0001F600'});
  CHECK(decode_utf8("")->empty());
  CHECK_FALSE(decode_utf8("\xC0\xAF"));          // overlong "/"
  CHECK_FALSE(decode_utf8("\xED\xA0\x80"));      // a surrogate
  CHECK_FALSE(decode_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(decode_utf8("\xE4\xBD"));          // truncated
  CHECK_FALSE(decode_utf8("\x80"));              // a continuation byte first
}

TEST_CASE("append_utf8 and encode_utf8 write what decode_utf8 reads") {
  for (char32_t c : {U'A', U'\u00E9', U'住', U'\U0001F600'}) {
    const std::string s = encode_utf8(c);
    CHECK(decode_utf8(s) == std::u32string{c});
  }
  std::string out = "x";
  append_utf8(out, U'基');
  CHECK(out == "x基");
}

TEST_CASE("xml_escape makes any text safe in element text and quoted attributes") {
  CHECK(xml_escape("a<b>&\"c\"'d'") == "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;");
  CHECK(xml_escape("住基カード") == "住基カード");
  CHECK(xml_escape("") == "");
}
