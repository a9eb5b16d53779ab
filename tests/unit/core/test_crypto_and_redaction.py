import pytest

from sluice.core.crypto import SecretBox, SecretDecryptionError
from sluice.core.ids import new_id
from sluice.core.redaction import MASK, redact, register_secret


def test_secret_box_round_trip_and_ciphertext_hides_value() -> None:
    box = SecretBox("key-one")
    token = box.encrypt({"password": "hunter2-very-secret"})
    assert "hunter2" not in token
    assert box.decrypt(token) == {"password": "hunter2-very-secret"}


def test_wrong_key_gives_a_clear_error() -> None:
    token = SecretBox("key-one").encrypt({"password": "x"})
    with pytest.raises(SecretDecryptionError, match="SLUICE_SECRET_KEY"):
        SecretBox("key-two").decrypt(token)


def test_redaction_masks_secret_keys_and_known_values() -> None:
    register_secret("tok_live_abcdef")
    event = {"api_key": "anything", "msg": "calling with tok_live_abcdef now", "nested": [{"password": "p"}]}
    assert redact(event) == {
        "api_key": MASK,
        "msg": f"calling with {MASK} now",
        "nested": [{"password": MASK}],
    }


def test_ids_are_unique_and_time_ordered() -> None:
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 26 for i in ids)
    assert ids[0] < ids[-1]
