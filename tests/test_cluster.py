"""Room sharding: the pure rendezvous assignment and membership, then three real agents."""

from __future__ import annotations

import statistics

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.cluster import Membership, Presence, assign, parse_presence, presence_document

ROOMS = [f"room{i}" for i in range(2000)]

names = st.text(alphabet="abcdefghij0123456789-", min_size=1, max_size=8)
member_sets = st.sets(names, min_size=1, max_size=8)
room_sets = st.sets(names, min_size=0, max_size=60)


def test_assign_without_members_is_empty() -> None:
    """No live member, no owner (never an owner that is not live)."""
    assert assign(["r1", "r2"], []) == {}


def test_assign_is_deterministic_and_order_free() -> None:
    """Every instance computes the same owners whatever order it learnt the members in."""
    one = assign(ROOMS[:100], ["a", "b", "c"])
    two = assign(reversed(ROOMS[:100]), ["c", "a", "b", "a"])
    assert one == two
    assert set(one.values()) == {"a", "b", "c"}


def test_assign_balances_rooms() -> None:
    """Each of five members gets within 15% of an even share of 2,000 rooms."""
    members = [f"agent-{i}" for i in range(5)]
    owners = assign(ROOMS, members)
    counts = [sum(owner == m for owner in owners.values()) for m in members]
    mean = statistics.mean(counts)
    assert all(abs(c - mean) / mean < 0.15 for c in counts), counts


@given(rooms=room_sets, members=member_sets)
def test_assign_covers_every_room_with_a_member(rooms: set[str], members: set[str]) -> None:
    """Every room gets exactly one owner, and only live members own rooms."""
    owners = assign(rooms, members)
    assert set(owners) == rooms
    assert set(owners.values()) <= members


@settings(max_examples=200)
@given(rooms=room_sets, members=member_sets, newcomer=names)
def test_join_moves_only_rooms_to_the_newcomer(
    rooms: set[str], members: set[str], newcomer: str
) -> None:
    """A joining member takes rooms only for itself; no room moves between the others."""
    before = assign(rooms, members)
    after = assign(rooms, members | {newcomer})
    moved = {r for r in rooms if before[r] != after[r]}
    assert all(after[r] == newcomer for r in moved)


@settings(max_examples=200)
@given(rooms=room_sets, members=member_sets.filter(lambda m: len(m) > 1), data=st.data())
def test_leave_moves_only_the_leavers_rooms(
    rooms: set[str], members: set[str], data: st.DataObject
) -> None:
    """When a member leaves, only its rooms move; the others keep theirs."""
    leaver = data.draw(st.sampled_from(sorted(members)))
    before = assign(rooms, members)
    after = assign(rooms, members - {leaver})
    assert {r for r in rooms if before[r] != after[r]} == {r for r in rooms if before[r] == leaver}


def online(ts: float, *, member: bool = True) -> Presence:
    return Presence(instance="b", state="online", ts=ts, member=member)


def test_membership_follows_presence_and_will() -> None:
    """Online members join; an offline Will or a cleared retained message removes them."""
    book = Membership("a", timeout=5.0)
    assert book.members == {"a"}
    assert book.observe("b", online(100.0), 100.0, retained=False)
    assert not book.observe("b", online(101.0), 101.0, retained=False)
    assert book.members == {"a", "b"}
    offline = Presence(instance="b", state="offline", ts=102.0, member=True)
    assert book.observe("b", offline, 102.0, retained=False)
    assert book.members == {"a"}
    book.observe("c", online(103.0), 103.0, retained=False)
    assert book.observe("c", None, 104.0, retained=False)
    assert book.members == {"a"}


def test_membership_ignores_stale_retained_and_sink_presence() -> None:
    """A dead instance's old retained "online" and a plain sink presence never add members."""
    book = Membership("a", timeout=5.0)
    assert not book.observe("b", online(100.0), 200.0, retained=True)
    assert not book.observe("c", online(200.0, member=False), 200.0, retained=False)
    assert not book.observe("a", online(200.0), 200.0, retained=False)
    assert book.members == {"a"}
    assert book.observe("d", online(198.0), 200.0, retained=True)


def test_membership_times_out_silent_members() -> None:
    """A member not heard from within the timeout is dropped; heartbeats keep it."""
    book = Membership("a", timeout=5.0)
    book.observe("b", online(100.0), 100.0, retained=False)
    book.observe("c", online(100.0), 100.0, retained=False)
    book.observe("c", online(104.0), 104.0, retained=False)
    assert not book.expire(104.0)
    assert book.expire(106.0)
    assert book.members == {"a", "c"}


def test_presence_document_round_trips() -> None:
    """The member's presence parses back; junk payloads parse to None."""
    doc = parse_presence(presence_document("a", "online", session="s1", rooms=["r2", "r1"]))
    assert doc is not None
    assert (doc.instance, doc.state, doc.member, doc.session, doc.rooms) == (
        "a", "online", True, "s1", ("r1", "r2"),
    )  # fmt: skip
    sink = parse_presence(b'{"instance": "a", "state": "online", "ts": 1.5}')
    assert sink is not None
    assert not sink.member
    for junk in (b"", b"[1]", b"not json", b'{"state": 1, "ts": 2}'):
        assert parse_presence(junk) is None
