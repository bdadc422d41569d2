// UTF-8 and XML text: the card face's fields are Japanese, and an SVG face or
// an XML or HTML report must stay well-formed whatever a name or a trace holds.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace juki::text {

// The code points of well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF); nullopt otherwise.
std::optional<std::u32string> decode_utf8(std::string_view text);
std::string encode_utf8(char32_t c);
void append_utf8(std::string& out, char32_t c);

// & < > " ' as entities: safe in element text and in quoted attributes.
std::string xml_escape(std::string_view text);

}  // namespace juki::text
