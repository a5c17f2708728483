"""Transaction ids and wallet addresses, checked before they are stored.

- A **txid** is 64 hexadecimal characters. Upper case is taken and stored lower-cased, as
  explorers write it; an EVM chain's `0x` prefix (ETC) is dropped. Anything else is refused.
- A **wallet address** is checked by its commodity's checksum:
  - BTC: base58check P2PKH (`1...`) and P2SH (`3...`), and bech32/bech32m segwit (`bc1...`:
    v0 by BIP-173 with a 20- or 32-byte program, v1 and later by BIP-350). Testnet and
    signet (`m`, `n`, `2`, `tb1...`) only where `BITCOIN_TESTNET_ADDRESSES` is on.
  - ETC: `0x` and 40 hex digits; mixed case must match its EIP-55 checksum, all lower or all
    upper case is taken as an address without one.
  - KAS: `kaspa:` and the cashaddr-style base32 payload with its 40-bit checksum: a version
    byte (0 Schnorr key, 1 ECDSA key, 8 script hash) and its 32- or 33-byte key or hash.
  - Other commodities (USDT held at a custodian, say) have no address rules here: printable
    text without spaces is taken.
"""

from __future__ import annotations

import re

import base58
import bech32m
from Crypto.Hash import keccak
from django.conf import settings

HEX64 = re.compile(r"[0-9a-fA-F]{64}")
ETC_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
MAX_ADDRESS_LENGTH = 128

BTC_BASE58_VERSIONS = {0x00: "P2PKH", 0x05: "P2SH"}
BTC_TESTNET_BASE58_VERSIONS = {0x6F: "P2PKH", 0xC4: "P2SH"}


class AddressError(ValueError):
    """What is wrong with a txid or an address, in words."""


def normalize_txid(text: str) -> str:
    """The txid as stored (64 lower-case hex characters), or AddressError."""
    digits = text[2:] if text[:2].lower() == "0x" else text
    if not HEX64.fullmatch(digits):
        raise AddressError(f"{text!r} is not a transaction id (64 hex characters)")
    return digits.lower()


def check_address(commodity: str, address: str) -> str:
    """The address as stored, checked by its commodity's rules, or AddressError."""
    if not isinstance(address, str) or not address or len(address) > MAX_ADDRESS_LENGTH:
        raise AddressError(f"an address is 1 to {MAX_ADDRESS_LENGTH} characters")
    if not address.isprintable() or any(char.isspace() for char in address):
        raise AddressError(f"{address!r} is not an address: it holds spaces or control characters")
    checker = _CHECKERS.get(commodity)
    if checker is not None:
        checker(address)
    return address


def _btc(address: str) -> None:
    testnet = getattr(settings, "BITCOIN_TESTNET_ADDRESSES", False)
    lowered = address.lower()
    if lowered.startswith(("bc1", "tb1")):
        hrp = lowered[:2]
        if hrp == "tb" and not testnet:
            raise AddressError(f"{address} is a Bitcoin testnet address; this ledger is mainnet")
        if address != lowered and address != address.upper():
            raise AddressError(f"{address} mixes upper and lower case (BIP-173)")
        try:
            bech32m.decode(hrp, lowered)
        except bech32m.DecodeError as exc:
            raise AddressError(
                f"{address} is not a valid Bitcoin segwit address (bech32/bech32m checksum, "
                "BIP-173 and BIP-350)"
            ) from exc
        return
    try:
        payload = base58.b58decode_check(address)
    except ValueError as exc:
        raise AddressError(
            f"{address} is not a valid Bitcoin address (base58check checksum, or bc1...)"
        ) from exc
    versions = dict(BTC_BASE58_VERSIONS)
    if testnet:
        versions.update(BTC_TESTNET_BASE58_VERSIONS)
    if len(payload) != 21 or payload[0] not in versions:
        raise AddressError(
            f"{address} is not a Bitcoin mainnet P2PKH or P2SH address (version byte "
            f"{payload[0]:#04x})"
        )


def _etc(address: str) -> None:
    if not ETC_ADDRESS.fullmatch(address):
        raise AddressError(f"{address} is not an Ethereum Classic address (0x and 40 hex digits)")
    digits = address[2:]
    if digits in (digits.lower(), digits.upper()):
        return  # no checksum written
    if address != eip55(address):
        raise AddressError(f"{address} does not match its EIP-55 checksum ({eip55(address)})")


def eip55(address: str) -> str:
    """The address with its EIP-55 checksum capitalisation."""
    digits = address[2:].lower()
    hashed = keccak.new(digest_bits=256, data=digits.encode("ascii")).hexdigest()
    return "0x" + "".join(
        char.upper() if char.isalpha() and int(hashed[i], 16) >= 8 else char
        for i, char in enumerate(digits)
    )


# --- Kaspa: cashaddr-style base32 with a 40-bit BCH checksum --------------------------------

KASPA_PREFIX = "kaspa"
CASHADDR_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
KASPA_PAYLOAD_BYTES = {0: 32, 1: 33, 8: 32}  # Schnorr key, ECDSA key, script hash


def _polymod(values: list[int]) -> int:
    checksum = 1
    generators = (0x98F2BC8E61, 0x79B76D99E2, 0xF33E5FB3C4, 0xAE2EABE2A8, 0x1E4F43E470)
    for value in values:
        top = checksum >> 35
        checksum = ((checksum & 0x07FFFFFFFF) << 5) ^ value
        for bit, generator in enumerate(generators):
            if (top >> bit) & 1:
                checksum ^= generator
    return checksum ^ 1


def _prefix_values(prefix: str) -> list[int]:
    return [ord(char) & 0x1F for char in prefix] + [0]


def _from_five_bits(data: list[int]) -> bytes | None:
    accumulator, bits, out = 0, 0, bytearray()
    for value in data:
        accumulator = (accumulator << 5) | value
        bits += 5
        while bits >= 8:
            bits -= 8
            out.append((accumulator >> bits) & 0xFF)
    if bits >= 5 or (accumulator << (8 - bits)) & 0xFF:
        return None  # padding that is not zero
    return bytes(out)


def _to_five_bits(data: bytes) -> list[int]:
    accumulator, bits, out = 0, 0, []
    for byte in data:
        accumulator = (accumulator << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            out.append((accumulator >> bits) & 0x1F)
    if bits:
        out.append((accumulator << (5 - bits)) & 0x1F)
    return out


def kaspa_address(version: int, payload: bytes) -> str:
    """A Kaspa mainnet address for a version byte and its key or script hash."""
    data = _to_five_bits(bytes([version]) + payload)
    checksum = _polymod(_prefix_values(KASPA_PREFIX) + data + [0] * 8)
    words = data + [(checksum >> 5 * (7 - i)) & 0x1F for i in range(8)]
    return f"{KASPA_PREFIX}:" + "".join(CASHADDR_CHARSET[w] for w in words)


def _kas(address: str) -> None:
    prefix, _colon, body = address.partition(":")
    if prefix != KASPA_PREFIX or not body or address != address.lower():
        raise AddressError(f"{address} is not a Kaspa address (kaspa: and lower-case base32)")
    if any(char not in CASHADDR_CHARSET for char in body) or len(body) <= 8:
        raise AddressError(f"{address} is not a Kaspa address (kaspa: and lower-case base32)")
    words = [CASHADDR_CHARSET.index(char) for char in body]
    if _polymod(_prefix_values(prefix) + words) != 0:
        raise AddressError(f"{address} does not match its Kaspa checksum")
    payload = _from_five_bits(words[:-8])
    if payload is None or not payload or KASPA_PAYLOAD_BYTES.get(payload[0]) != len(payload) - 1:
        raise AddressError(f"{address} is not a Kaspa key or script address")


_CHECKERS = {"BTC": _btc, "ETC": _etc, "KAS": _kas}
