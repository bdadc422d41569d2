#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_card_transmit (fuzz/corpus/fuzz_card_transmit/).

Each seed is one input in the format described at the top of fuzz/fuzz_card_transmit.cpp:
a start-state byte, then frames [L][APDU] (L = FE: two length bytes follow) or [00][op]
harness actions. Python 3 standard library only.

  fuzz/make_card_corpus.py [output-dir]     (default: the seed directory next to this file)

Seeds written by hand live here; entries the fuzzer found and that were worth keeping are
plain files in the seed directory (names starting with "found_") and are left alone.
"""
import pathlib
import sys

BLANK, PERSO, PERSO_SAMPLE, ISSUED, ACTIVE, APPS = range(6)
NO_AUTO_AUTH = 0x80

# Harness actions ([00][op]).
RESET = b"\x00\x00"
POWER_CYCLE = b"\x00\x01"
EMPTY_APDU = b"\x00\x03"


def auth(key, channel=0):
    """Authenticate with a right CMAC: key 0 transport 01, 1 admin 02, 2 reset key 83."""
    return bytes([0x00, 0x02 | (key << 2) | (channel << 4)])


def apdu(hex_text):
    cmd = bytes.fromhex(hex_text.replace(" ", ""))
    if 1 <= len(cmd) <= 0xFD or len(cmd) == 0xFF:
        return bytes([len(cmd)]) + cmd
    return b"\xfe" + len(cmd).to_bytes(2, "big") + cmd


def tlv(tag, value):
    assert len(value) < 0x80
    return bytes([tag, len(value)]) + value


def signed(k, manifest_value):
    """A card-manager command signed by the harness: k 1 install, 2 delete, 3 lock, 4 unlock;
    the manifest's value follows as a frame."""
    frame = apdu(manifest_value.hex())
    return bytes([0x00, 0x03 | (k << 2)]) + frame


AID = "F04A554B4944454D4F"
SELECT_AID = "00A4040C09" + AID
VERIFY_OK = "0020008104 31323334"
VERIFY_BAD = "0020008104 30303030"
SELECT_JPKI = "00A4040C0AD392F000260100000001"
# The card manager and the seal-registration application it installed in the APPS image
# (specs/card-manager.md; the card's serial 0102030405060708, the counter at 1).
SELECT_MANAGER = "00A4040C07F04A554B49434D"
SEAL = "F04A554B495345414C"
SELECT_SEAL = "00A4040C09" + SEAL
LIBRARY = "F04A554B494C4942"
SERIAL = bytes.fromhex("0102030405060708")


def manifest(op, sequence, aid, rest=b""):
    return (tlv(0x80, bytes([op])) + tlv(0x81, SERIAL) + tlv(0x82, sequence.to_bytes(4, "big"))
            + tlv(0x4F, bytes.fromhex(aid)) + rest)


LIBRARY_INSTALL = manifest(1, 2, LIBRARY, tlv(0x83, b"\x52\x00") + tlv(0x84, b"\x00\x00\x04\x00")
                           + tlv(0xA1, tlv(0x83, b"\x01") + tlv(0x80, b"\x01") + tlv(0x81, b"\x04\x08")
                                 + tlv(0x82, b"\x05"))
                           + tlv(0xA3, tlv(0x83, b"\x01") + tlv(0x80, b"\x02"))
                           + tlv(0xA5, tlv(0x62, tlv(0x80, b"\x00\x10") + tlv(0x82, b"\x01")
                                           + tlv(0x83, b"\x52\x01") + tlv(0x88, bytes([1 << 3]))
                                           + tlv(0x86, bytes([0, 0, 0, 0, 0, 0])))
                                 + tlv(0x53, b"LIB-0004217"))
                           + tlv(0xA5, tlv(0x62, tlv(0x82, bytes.fromhex("0221002002"))
                                           + tlv(0x83, b"\x52\x02") + tlv(0x88, bytes([2 << 3]))
                                           + tlv(0x86, bytes([0, 0x04, 0x81, 0, 0, 0,
                                                              1, 0x04, 0x81, 0, 0, 0,
                                                              2, 0x04, 0x81, 0, 0, 0])))))
# COMPUTE DIGITAL SIGNATURE over a SHA-256 DigestInfo (specs/jpki.md).
SIGN = ("802A008033 3031300D060960864801650304020105000420"
        "A665A45920422F9D417E4867EFDC4FB8A04A1F3FFF1FA07E998E86F7F7A27AE3 00")

# CREATE FILE templates (specs/card-os.md 7.1, 7.2).
ALWAYS = lambda op: bytes([op, 0, 0, 0, 0, 0])  # noqa: E731
PIN81 = lambda op: bytes([op, 0x04, 0x81, 0, 0, 0])  # noqa: E731
FCP_DF = tlv(0x62, tlv(0x82, b"\x38") + tlv(0x83, b"\x60\x00") + tlv(0x84, bytes.fromhex("A000000001"))
             + tlv(0x86, ALWAYS(6) + ALWAYS(5)))
FCP_EF = tlv(0x62, tlv(0x82, b"\x01") + tlv(0x83, b"\x60\x01") + tlv(0x80, b"\x00\x40")
             + tlv(0x88, bytes([2 << 3])) + tlv(0x86, ALWAYS(0) + ALWAYS(1) + ALWAYS(5)))
FCP_LF = tlv(0x62, tlv(0x82, bytes.fromhex("0221000803")) + tlv(0x83, b"\x60\x02")
             + tlv(0x86, ALWAYS(0) + ALWAYS(1) + ALWAYS(2)))
FCP_LV = tlv(0x62, tlv(0x82, bytes.fromhex("0421001004")) + tlv(0x83, b"\x50\x05")
             + tlv(0x88, bytes([5 << 3])) + tlv(0x86, ALWAYS(0) + PIN81(2) + ALWAYS(3) + ALWAYS(4)))
# PUT DATA templates (7.4).
PIN_TEMPLATE = tlv(0xA1, tlv(0x83, b"\x02") + tlv(0x80, b"\x01") + tlv(0x81, b"\x04\x08")
                   + tlv(0x82, b"\x03") + tlv(0x85, b"\x02"))
KEY_TEMPLATE = tlv(0xA2, tlv(0x83, b"\x05") + tlv(0x80, b"\x01") + tlv(0x82, b"\x03")
                   + tlv(0x84, bytes(range(16))))


def h(b):
    return b.hex()


SEEDS = {
    # Transport-locked: only GET CHALLENGE / EXTERNAL AUTHENTICATE with the transport key.
    "blank_transport_key": [BLANK, apdu("0084000010"), apdu("0082000110" + "00" * 16),
                            apdu("0084000008"), apdu("00A4000C"), auth(0), apdu("00CADF2000")],
    "blank_locked_commands": [BLANK, apdu("00A40000"), apdu("00CADF2000"), apdu("0084000020"),
                              apdu("0082000210" + "11" * 16), apdu("00B0000010")],
    # Personalization, empty MF: file and object creation, then issuance.
    "perso_create_files": [PERSO, apdu("00A40000"), apdu("00E00000" + "%02X" % len(FCP_DF) + h(FCP_DF)),
                           apdu("00E00000" + "%02X" % len(FCP_EF) + h(FCP_EF)),
                           apdu("00D6000004DEADBEEF"), apdu("00B0000000"), apdu("00B0820000"),
                           apdu("00E00000" + "%02X" % len(FCP_LF) + h(FCP_LF)),
                           apdu("00E2000008" + "AA" * 8), apdu("00B2010408"),
                           apdu("00E40000026001"), apdu("00A4030C"), apdu("00E4000002" + "6000")],
    "perso_put_data_set_status": [PERSO, apdu("00A4000C023F00"),
                                  apdu("00DA00A1" + "%02X" % len(PIN_TEMPLATE) + h(PIN_TEMPLATE)),
                                  apdu("00DA00A2" + "%02X" % len(KEY_TEMPLATE) + h(KEY_TEMPLATE)),
                                  apdu("80F00004"), apdu("00CADF2000"), apdu("0024010204 31323334")],
    "perso_no_rights": [PERSO | NO_AUTO_AUTH, apdu("00DA00A1" + "%02X" % len(PIN_TEMPLATE)
                                                   + h(PIN_TEMPLATE)),
                        apdu("80F00004"), apdu("00E00000" + "%02X" % len(FCP_EF) + h(FCP_EF))],
    # Personalization with the sample layout: file life cycle, extended UPDATE, issuance.
    "perso_sample_file_lifecycle": [PERSO_SAMPLE, apdu(SELECT_AID), apdu("0004000002 5001"),
                                    apdu("00A4020402500100"), apdu("00B0000010"),
                                    apdu("0044000002 5001"), apdu("00A4020C025001"),
                                    apdu("00E40000025004"),
                                    apdu("00E00000" + "%02X" % len(FCP_LV) + h(FCP_LV)),
                                    apdu("00E2002803414243"), apdu("80F00004"), apdu("00CADF2000")],
    "perso_sample_extended": [PERSO_SAMPLE, apdu("00A4080C045000" + "5001"),
                              apdu("00D60000000100" + "5A" * 256), apdu("00B00000000000"),
                              apdu("00CADF210000")],
    # Issued: only the activation.
    "issued_activate": [ISSUED, apdu(SELECT_AID), apdu("00B0000010"), apdu("0024008108 3132333435363738"),
                        apdu("0024018104 31323334"), apdu("00CADF2000"), apdu(VERIFY_OK)],
    # Active card.
    "apps_jpki_auth_sign": [APPS, apdu(SELECT_JPKI), apdu("00A4020C020018"), apdu("00200080"),
                            apdu("0020008004 31323334"), apdu("00A4020C020017"), apdu(SIGN)],
    "apps_jpki_sign_key": [APPS, apdu(SELECT_JPKI), apdu("00A4020C02001B"),
                           apdu("0020008006 414243313233"), apdu("00A4020C020001"),
                           apdu("00B0000004"), apdu("00A4020C02001A"), apdu(SIGN), apdu(SIGN)],
    "apps_jpki_wrong_pins": [APPS, apdu(SELECT_JPKI), apdu("00A4020C020018"),
                             apdu("0020008004 39393939"), apdu("0020008004 39393939"),
                             apdu("00200080"), POWER_CYCLE, apdu(SELECT_JPKI),
                             apdu("00A4020C020018"), apdu("00200080")],
    "apps_jpki_misplaced": [APPS, apdu(SELECT_JPKI), apdu("00A4020C02000A"), apdu("00200080"),
                            apdu(SIGN), apdu("00A4020002" + "0017"), apdu("00B0000004"),
                            apdu("0070000001"), apdu("01A4020C020017"), apdu("812A008000")],
    "apps_sec_authentication": [APPS, apdu("00A4040C05F053454331"), apdu("00A4020C027004"),
                                apdu("00B000000F"), apdu("00A4020C027001"), apdu("00B000000F"),
                                apdu("002A00BE04 7F218100"), apdu("0084000010"),
                                apdu("0086000004 7C028100 00"), apdu("0CB0810000")],
    # The card manager: LIST, signed INSTALL / LOCK / UNLOCK / DELETE, and unsigned refusals.
    "apps_manager_list": [APPS, apdu(SELECT_MANAGER), apdu("80F2000000"), apdu("80F20000000000"),
                          apdu("80F2000010"), apdu("80F20000"), apdu("80F2010000"),
                          apdu("00A4020C024D02"), apdu("00B0000004"), apdu("00A4000C"),
                          apdu("80F2000000")],
    "apps_manager_install": [APPS, apdu(SELECT_MANAGER), signed(1, LIBRARY_INSTALL),
                             apdu("80F20000000000"), apdu("00A4040C08" + LIBRARY),
                             apdu("0024018104 31323334"), apdu("0020008104 31323334"),
                             apdu("00E2001020" + "41" * 32), apdu("00B2011400"),
                             apdu("00B0810010"), apdu(SELECT_MANAGER), signed(1, LIBRARY_INSTALL)],
    "apps_manager_lock_delete": [APPS, apdu(SELECT_MANAGER), signed(3, manifest(3, 2, SEAL)),
                                 apdu(SELECT_SEAL), apdu("00B0810020"), apdu(SELECT_MANAGER),
                                 signed(4, manifest(4, 3, SEAL)), apdu(SELECT_SEAL),
                                 apdu("00B0810020"), apdu(SELECT_MANAGER),
                                 signed(2, manifest(2, 4, SEAL)), apdu("80F20000000000"),
                                 apdu(SELECT_SEAL), POWER_CYCLE, apdu(SELECT_MANAGER),
                                 signed(2, manifest(2, 5, SEAL))],
    "apps_manager_refusals": [APPS, apdu(SELECT_MANAGER), apdu("80E0000002 7100"),
                              apdu("80E4000003 FFFFFF"), apdu("80E00000"), apdu("8004000000"),
                              signed(2, manifest(2, 1, SEAL)), signed(2, manifest(2, 9, "F053454331")),
                              signed(3, manifest(3, 9, "F0112233445566")),
                              signed(1, manifest(1, 9, SEAL)), signed(2, manifest(1, 9, SEAL))],
    "apps_manager_seal_use": [APPS, apdu(SELECT_SEAL), apdu("00B0810020"), apdu("00B0820040"),
                              apdu("0024018104 31333537"), apdu("0020008104 31333537"),
                              apdu("00B0820040"), apdu("00E2001805 6C6F673031"), apdu("00B2011C00"),
                              apdu("00A4020C025201")],
    "active_select_read": [ACTIVE, apdu(SELECT_AID), apdu("00A4020C025001"), apdu("00B0000000"),
                           apdu("00A4020402500100"), apdu("00B000F020"), apdu("00B0010000"),
                           apdu("00A4000402500200")],
    "active_select_path": [ACTIVE, apdu("00A4080C0450005003"), apdu("00A4090C025004"),
                           apdu("00A4000002500000"), apdu("00A4030C"), apdu("00A4040009" + AID + "00"),
                           apdu("00A4040E09" + AID), apdu("00A4010C025000"), apdu("00A4000C023F00")],
    "active_verify_update": [ACTIVE, apdu(SELECT_AID), apdu("00A4020C025001"),
                             apdu("00D6000010" + "41" * 16), apdu(VERIFY_OK),
                             apdu("00D6001010" + "42" * 16), apdu("00B0000020"),
                             apdu("00B0810000"), apdu("00A4020C025002"), apdu("00B0000000")],
    "active_verify_wrong": [ACTIVE, apdu(SELECT_AID), apdu(VERIFY_BAD), apdu("00200081"),
                            apdu(VERIFY_BAD), apdu("0020008103 313233"), apdu("002000810431323341"),
                            apdu(VERIFY_OK), apdu("0020FF81"), apdu("00200081")],
    "active_records": [ACTIVE, apdu(SELECT_AID), apdu(VERIFY_OK), apdu("00B2011C10"),
                       apdu("00DC021C10" + "77" * 16), apdu("00B2021C00"), apdu("00B2052400"),
                       apdu("00E2002005 6576656E74"), apdu("00B2022400"), apdu("00DC022403 616263"),
                       apdu("00B2000400")],
    "active_change_reference": [ACTIVE, apdu(SELECT_AID), apdu("0024008108 3132333435363738"),
                                apdu("0020008104 35363738"), apdu("0024008108 3030303031323334"),
                                apdu("0024018104 31323334"), apdu("0024028100")],
    "active_reset_retry_counter": [ACTIVE, apdu(SELECT_AID), apdu(VERIFY_BAD), apdu(VERIFY_BAD),
                                   apdu(VERIFY_BAD), apdu(VERIFY_OK), apdu("002C0381"), auth(2),
                                   apdu("002C0381"), auth(2), apdu("002C028104 39393939"),
                                   apdu("0020008104 39393939"), apdu("002C0081")],
    "active_channels": [ACTIVE, apdu("0070000001"), apdu("01A4040C09" + AID), apdu("01A4020C025001"),
                        apdu("01B0000010"), apdu("00700002"), apdu("02A4080C0450005001"),
                        apdu("02708000"), apdu("00708001"), apdu("01B0000010"), apdu("0070000101"),
                        apdu("00708000")],
    "active_get_data_challenge": [ACTIVE, apdu("00CADF2000"), apdu("00CADF2100"), apdu("00CADF2200"),
                                  apdu("00CADF2300"), apdu("0084000008"), apdu("0084000020"),
                                  apdu("0084000005"), apdu("0082008310" + "00" * 16)],
    "active_terminate": [ACTIVE, apdu("00FE0000"), auth(1), apdu("00FE0000"), apdu("00CADF2000"),
                         apdu("00CADF2100"), apdu(SELECT_AID)],
    "active_create_delete_denied": [ACTIVE, apdu(SELECT_AID),
                                    apdu("00E00000" + "%02X" % len(FCP_EF) + h(FCP_EF)),
                                    apdu("00E40000025001"), apdu("0004000000"), apdu("00DA00A100"),
                                    apdu("80F00004")],
    "active_malformed": [ACTIVE, apdu("80A40000"), apdu("10A40000"), apdu("0CA40000"), apdu("40A40000"),
                         apdu("FFA40000"), apdu("00FF0000"), apdu("00A4"), apdu("00A4040C0A" + AID),
                         apdu("00B00000000000FF"), EMPTY_APDU, RESET, apdu("03A40000"),
                         POWER_CYCLE, apdu("00CADF2000")],
}


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else (
        pathlib.Path(__file__).resolve().parent / "corpus" / "fuzz_card_transmit")
    out.mkdir(parents=True, exist_ok=True)
    for name, parts in SEEDS.items():
        data = bytes([parts[0]]) + b"".join(parts[1:])
        (out / name).write_bytes(data)
    print(f"{len(SEEDS)} seeds in {out}")


if __name__ == "__main__":
    main()
