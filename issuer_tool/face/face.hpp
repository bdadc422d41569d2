// The card face (券面, specs/card-face.md): the print data of face version A
// (name, expiry, issuing municipality) or B (adds address, birth date, sex and
// the photo), the braille-embossing request, and the face drawn as SVG for
// the print station. The card fields (municipality, issue date, expiry, face,
// serial) are checked and computed by common/card_information.hpp, so the face
// shows what the card's card information EF holds.
#pragma once

#include <optional>
#include <string>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "issuer_tool/face/era.hpp"

namespace juki::face {

inline constexpr std::size_t kMaxPhotoBytes = 4 * 1024 * 1024;  // a face photo is tens of kB

struct FaceRequest {
  char face = 'A';                // 'A' or 'B'
  std::string name;               // UTF-8, as registered (氏名)
  std::string name_kana;          // the braille reading (タロー, braille.hpp); braille only
  std::string birth_date;         // YYYYMMDD; face B only
  int sex = 0;                    // 1 male, 2 female, 9 unspecified; face B only
  std::string address;            // UTF-8; face B only
  std::string municipality_code;  // 6 digits with the check digit
  std::string municipality_name;  // UTF-8 (千代田区)
  std::string issue_date;         // YYYYMMDD; the expiry is 10 years later
  std::string serial;             // the card serial: 16 uppercase hex digits
  std::string photo_path;         // JPEG or PNG; face B only; empty: a placeholder
  bool braille = false;           // embossing requested
};

// What is wrong with a request: `field` is FaceRequest's member name, and the
// message starts with it.
struct FaceError {
  std::string field;
  std::string message;
};

struct Photo {
  std::string path;
  std::string media_type;  // "image/jpeg" or "image/png", from the magic bytes
  Bytes bytes;
};

struct Braille {
  std::string kana;   // as requested
  std::string cells;  // Unicode braille patterns (UTF-8)
};

struct FaceData {
  char face = 'A';
  std::string serial;
  std::string name;
  Date issue_date;
  Date expiry_date;
  std::string municipality_code;
  std::string municipality_name;
  // Face B only (empty / nullopt / 0 on face A).
  std::string address;
  std::optional<Date> birth_date;
  int sex = 0;
  std::optional<Photo> photo;  // face B without a photo: nullopt
  std::optional<Braille> braille;
};

// Checks the request (the face-B fields only on face B, the kana only when
// braille is requested) and reads the photo.
Result<FaceData, FaceError> make_face_data(const FaceRequest& request);

// "男", "女", "－" (unspecified) for 1, 2, 9.
std::string sex_label(int sex);

// The print data for the print station (specs/card-face.md "Print data"), JSON.
std::string print_data_json(const FaceData& face);

// The face as SVG, ID-1 size in millimetres (specs/card-face.md "Layout").
std::string render_svg(const FaceData& face);

}  // namespace juki::face
