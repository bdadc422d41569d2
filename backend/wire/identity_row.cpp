#include "backend/wire/identity_row.hpp"

namespace juki::backend::wire {

juki::net::v1::IdentityInformation identity_of(const store::Row& row) {
  juki::net::v1::IdentityInformation id;
  id.set_resident_code(row.text(0));
  id.set_name_kanji(row.text(1));
  id.set_name_kana(row.text(2));
  id.set_birth_date(row.text(3));
  id.set_sex(static_cast<juki::net::v1::Sex>(row.integer(4)));
  id.set_address(row.text(5));
  return id;
}

}  // namespace juki::backend::wire
