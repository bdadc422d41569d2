// The identity columns of a store's row as the wire's message: one reading for
// the CS's residents and the upper tiers' identity table, whose queries both
// select resident_code, name_kanji, name_kana, birth_date, sex, address first.
#pragma once

#include "backend/store/value.hpp"
#include "backend/wire/juki_net.pb.h"

namespace juki::backend::wire {

juki::net::v1::IdentityInformation identity_of(const store::Row& row);

}  // namespace juki::backend::wire
