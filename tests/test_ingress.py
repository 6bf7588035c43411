"""The ingress queue: back-pressure for put, priority shedding for offer, counted drops."""

from __future__ import annotations

import asyncio

import pytest

from agent.events import Comment, Event, HostSpeech
from agent.ingress import IngressClosed, QueueIngress
from agent.metrics import Metrics
from agent.prefilter import (
    PRIORITY_AFTER_SALES,
    PRIORITY_CHATTER,
    PRIORITY_PAID,
    PRIORITY_SPEECH,
    Prefilter,
    default_prefilter,
    read_lexicon,
)


def _comment(text: str, room: str = "r1", priority: int = PRIORITY_CHATTER) -> Comment:
    return Comment(room=room, user="u", text=text, ts=1.0, received=2.0, source="json_ws",
                   priority=priority)  # fmt: skip


def _dropped(metrics: Metrics, room: str, reason: str) -> float:
    return (
        metrics.registry.get_sample_value(
            "danmaku_messages_dropped_total", {"room": room, "reason": reason}
        )
        or 0.0
    )


def _texts(events: list[Event]) -> list[str]:
    return [e.text for e in events]


async def test_fifo_and_counts_while_not_full(metrics: Metrics) -> None:
    """Below capacity everything is kept, in arrival order, and counted as received."""
    ingress = QueueIngress(metrics, 10)
    for i in range(5):
        assert ingress.offer(_comment(f"c{i}", priority=i % 3))
    assert len(ingress) == 5
    assert _texts(await ingress.get_batch(3)) == ["c0", "c1", "c2"]
    assert _texts(await ingress.get_batch(10)) == ["c3", "c4"]
    assert (
        metrics.registry.get_sample_value(
            "danmaku_messages_received_total", {"room": "r1", "source": "json_ws"}
        )
        == 5
    )
    assert metrics.registry.get_sample_value("danmaku_queue_depth", {"stage": "ingress"}) == 0


async def test_after_sales_evicts_the_oldest_chatter(metrics: Metrics) -> None:
    """When full, a likely after-sales comment displaces the oldest chatter, not itself."""
    ingress = QueueIngress(metrics, 3)
    ingress.offer(_comment("hi-1", room="a"))
    ingress.offer(_comment("退款-1", priority=PRIORITY_AFTER_SALES))
    ingress.offer(_comment("hi-2", room="b"))
    assert ingress.offer(_comment("退款-2", priority=PRIORITY_AFTER_SALES))
    assert len(ingress) == 3
    assert _dropped(metrics, "a", "evicted") == 1
    assert _texts(await ingress.get_batch(10)) == ["退款-1", "hi-2", "退款-2"]


async def test_lowest_level_goes_first(metrics: Metrics) -> None:
    """Chatter is shed before paid comments; paid ones before after-sales ones."""
    ingress = QueueIngress(metrics, 2)
    ingress.offer(_comment("paid", priority=PRIORITY_PAID))
    ingress.offer(_comment("chat"))
    ingress.offer(_comment("退款-1", priority=PRIORITY_AFTER_SALES))
    ingress.offer(_comment("退款-2", priority=PRIORITY_AFTER_SALES))
    assert _texts(await ingress.get_batch(10)) == ["退款-1", "退款-2"]
    assert _dropped(metrics, "r1", "evicted") == 2


async def test_newcomer_dropped_when_nothing_ranks_lower(metrics: Metrics) -> None:
    """Chatter into a full queue is dropped (overload); so is after-sales into all after-sales."""
    ingress = QueueIngress(metrics, 2)
    ingress.offer(_comment("退款-1", priority=PRIORITY_AFTER_SALES))
    ingress.offer(_comment("chat-1"))
    assert not ingress.offer(_comment("chat-2", room="loud"))
    assert _dropped(metrics, "loud", "overload") == 1
    assert ingress.offer(_comment("退款-2", priority=PRIORITY_AFTER_SALES))
    assert not ingress.offer(_comment("退款-3", priority=PRIORITY_AFTER_SALES))
    assert _dropped(metrics, "r1", "overload") == 1
    assert _texts(await ingress.get_batch(10)) == ["退款-1", "退款-2"]


async def test_speech_outranks_every_comment(metrics: Metrics) -> None:
    """Host speech evicts even an after-sales comment; comments never evict speech."""
    ingress = QueueIngress(metrics, 1)
    ingress.offer(_comment("退款", priority=PRIORITY_AFTER_SALES))
    speech = HostSpeech(room="r1", text="这款包邮", ts=1.0, received=2.0, source="json_ws")
    assert ingress.offer(speech)
    assert not ingress.offer(_comment("退货", priority=PRIORITY_AFTER_SALES))
    assert await ingress.get_batch(5) == [speech]


async def test_sustained_overload_keeps_memory_bounded(metrics: Metrics) -> None:
    """Evicted slots are compacted away; the queue never holds more than capacity."""
    ingress = QueueIngress(metrics, 100)
    for i in range(5000):
        ingress.offer(_comment(f"c{i}", priority=PRIORITY_AFTER_SALES if i % 2 else 0))
        assert len(ingress) <= 100
        assert len(ingress._items) <= 2 * 100 + 1
    batch = await ingress.get_batch(1000)
    assert len(batch) == 100
    assert all(isinstance(e, Comment) and e.priority == PRIORITY_AFTER_SALES for e in batch)
    # Equal ranks never evict each other: the first hundred after-sales comments stay.
    assert _texts(batch) == [f"c{i}" for i in range(1, 200, 2)]
    total = _dropped(metrics, "r1", "evicted") + _dropped(metrics, "r1", "overload")
    assert total == 4900


async def test_put_waits_for_room_and_close_ends_it(metrics: Metrics) -> None:
    """put blocks while full, resumes after a get_batch, and raises once closed."""
    ingress = QueueIngress(metrics, 1)
    await ingress.put(_comment("a"))
    waiter = asyncio.create_task(ingress.put(_comment("b")))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    assert _texts(await ingress.get_batch(5)) == ["a"]
    await asyncio.wait_for(waiter, 1)
    ingress.close()
    with pytest.raises(IngressClosed):
        await ingress.put(_comment("c"))
    assert not ingress.offer(_comment("d"))
    assert _dropped(metrics, "r1", "shutdown") == 1
    assert _texts(await ingress.get_batch(5)) == ["b"]
    assert await ingress.get_batch(5) == []


async def test_get_batch_waits_for_an_event(metrics: Metrics) -> None:
    """get_batch sleeps on an empty queue and wakes on the next offer."""
    ingress = QueueIngress(metrics, 4)
    getter = asyncio.create_task(ingress.get_batch(4))
    await asyncio.sleep(0.01)
    assert not getter.done()
    ingress.offer(_comment("x"))
    assert _texts(await asyncio.wait_for(getter, 1)) == ["x"]


def test_prefilter_marks_after_sales_words() -> None:
    """Lexicon hits rank as after-sales, in any case and in traditional characters."""
    rank = default_prefilter()
    assert rank("我的快递三天了还没到") == PRIORITY_AFTER_SALES
    assert rank("能不能TuiKuan") == PRIORITY_AFTER_SALES
    assert rank("收到貨了 怎麼退貨") == PRIORITY_AFTER_SALES
    assert rank("主播好美") == PRIORITY_CHATTER
    assert rank("主播好美", paid=True) == PRIORITY_PAID
    assert "退款" in read_lexicon()
    assert not Prefilter([]).hit("退款")


def test_prefilter_priority_of_events() -> None:
    """Speech ranks first; a comment ranks by its text and pay, never below a preset rank."""
    prefilter = Prefilter(["发货"])
    assert prefilter.priority(_comment("你好")) == PRIORITY_CHATTER
    assert prefilter.priority(_comment("何时发货")) == PRIORITY_AFTER_SALES
    assert prefilter.priority(_comment("你好", priority=PRIORITY_PAID)) == PRIORITY_PAID
    assert prefilter.priority(_comment("你好", priority=99)) == PRIORITY_SPEECH
    speech = HostSpeech(room="r1", text="你好", ts=1.0, received=2.0, source="json_ws")
    assert prefilter.priority(speech) == PRIORITY_SPEECH


class _CountingPrefilter(Prefilter):
    """A prefilter that counts how many comments it ranked."""

    def __init__(self) -> None:
        super().__init__(["退款"])
        self.ranked = 0

    def rank(self, text: str, paid: bool = False) -> int:
        self.ranked += 1
        return super().rank(text, paid)


async def test_ranking_waits_until_half_full(metrics: Metrics) -> None:
    """Below half the capacity nothing is ranked; reaching it ranks the backlog at once."""
    prefilter = _CountingPrefilter()
    ingress = QueueIngress(metrics, 6, prefilter=prefilter)
    ingress.offer(_comment("退款-1"))
    ingress.offer(_comment("chat-1"))
    assert prefilter.ranked == 0
    ingress.offer(_comment("chat-2"))  # the third of six: ranks all three
    assert prefilter.ranked == 3
    for i in range(3, 6):
        ingress.offer(_comment(f"chat-{i}"))
    assert prefilter.ranked == 6
    # Full: the keyword found while the queue was half empty still protects 退款-1.
    assert ingress.offer(_comment("退款-2"))
    assert _texts(await ingress.get_batch(10)) == [
        "退款-1", "chat-2", "chat-3", "chat-4", "chat-5", "退款-2",
    ]  # fmt: skip
    # Drained: back to queueing unranked.
    ingress.offer(_comment("chat-6"))
    assert prefilter.ranked == 7


async def test_partial_drain_keeps_ranking_and_order(metrics: Metrics) -> None:
    """While events stay queued the queue keeps ranking, and batches keep arrival order."""
    prefilter = _CountingPrefilter()
    ingress = QueueIngress(metrics, 4, prefilter=prefilter)
    for text in ("chat-1", "退款-1", "chat-2"):
        ingress.offer(_comment(text))
    assert _texts(await ingress.get_batch(1)) == ["chat-1"]
    for text in ("chat-3", "chat-4", "退款-2"):
        ingress.offer(_comment(text))
    assert prefilter.ranked == 6
    assert _texts(await ingress.get_batch(10)) == ["退款-1", "chat-3", "chat-4", "退款-2"]
