"""The blind index of residents' names. Names are encrypted, so SQL cannot match them; nor
should a search decrypt every resident to find a few. Each name is kept with a keyed hash
(HMAC, INTAKE_HASH_KEY) of every pair of adjacent characters; a fragment of two or more
characters is looked up by its own pairs, and only the residents holding all of them are
decrypted, to drop the few whose pairs come in another order.

The hashes are keyed, so the index cannot be read without the key; like any blind index it
shows which residents share a pair of characters (a surname, say), and so it stays inside
intake's database with the sealed names."""
import unicodedata

import sqlalchemy as sa

from .models import Resident, ResidentNameGram, db
from .privacy import Vault


def normalise_name(name: str) -> str:
    """NFKC, without spaces, case-folded: the form names are indexed and compared in."""
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


def grams(vault: Vault, name: str) -> set[str]:
    plain = normalise_name(name)
    return {vault.blind("name", plain[i:i + 2]) for i in range(len(plain) - 1)}


def index(vault: Vault, resident: Resident, name: str) -> None:
    """(Re)build the resident's entries; the session writes them with the resident."""
    resident.name_grams = [ResidentNameGram(gram=g) for g in sorted(grams(vault, name))]


def matching(vault: Vault, community_ids, fragment: str, limit: int) -> list[tuple]:
    """(resident, name) for names containing `fragment` (two characters or more), oldest
    registration first, decrypting only the residents the index names."""
    wanted = grams(vault, fragment)
    holding_all = sa.select(ResidentNameGram.resident_id).where(
        ResidentNameGram.gram.in_(wanted)).group_by(ResidentNameGram.resident_id).having(
        sa.func.count(sa.distinct(ResidentNameGram.gram)) == len(wanted))
    candidates = db.session.scalars(sa.select(Resident).where(
        Resident.community_id.in_(community_ids), Resident.id.in_(holding_all)).order_by(
        Resident.registered_at))
    found, plain = [], normalise_name(fragment)
    for resident in candidates:
        name = vault.open(resident.name_sealed)
        if plain in normalise_name(name):
            found.append((resident, name))
            if len(found) >= limit:
                break
    return found
