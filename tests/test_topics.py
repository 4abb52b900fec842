"""Story topics for training summaries (train.topics), over a small real index."""

import datetime as dt

from rag import Index
from rag.types import Document

_STORY = [
    "Dock workers at Port Aster walked off the job on {day}, halting cargo across the Northland coast.",
    "The union leader Tor Vik said 1,200 workers joined the strike after talks with the harbour board collapsed.",
    "The harbour board said the stoppage costs shippers about $4.2 million a day.",
    "Retailers warned that shelves could empty within a fortnight if the ships stay at anchor.",
    "Mayor Lina Osk urged both sides to return to the table and offered the town hall for talks.",
    "Freight companies diverted vessels to the southern terminals, where queues grew through the week.",
]
_OTHER = [
    "The Carrow orchard reported its best apple harvest in a decade, with growers praising a mild spring.",
    "Volunteers planted trees along the river path, and the council promised benches by the summer.",
    "A new bakery opened near the station, selling rye loaves from a recipe its owner learned abroad.",
    "The library extended its weekend hours after readers asked for more quiet space to study.",
]


def _article(i: int, lines: list[str], title: str, day: dt.date) -> Document:
    body = " ".join(line.format(day=day.strftime("%A")) for line in lines)
    text = " ".join([body] * 3)  # a body of the length a news page has
    return Document(f"doc-{i}", text, day, f"test://news/{i}", title)


def test_a_story_of_three_articles_becomes_a_topic_whose_nuggets_they_share(tmp_path):
    from train.topics import story_topics

    day = dt.date(2024, 5, 6)
    titles = [
        "Port Aster dock strike halts Northland cargo - Coast Herald",
        "Northland dock strike at Port Aster enters second day | Daily Wire",
        "Port Aster strike: Northland shippers count the cost - Harbour News",
    ]
    docs = [_article(i, _STORY[i:] + _STORY[:i], t, day + dt.timedelta(days=i)) for i, t in enumerate(titles)]
    docs += [
        _article(10 + i, _OTHER[i:] + _OTHER[:i], f"Town news roundup number {i} for readers", day) for i in range(2)
    ]
    docs.append(_article(20, _STORY, "An archived report on an earlier strike at the docks", dt.date(2023, 1, 9)))
    with Index.open(tmp_path / "ix", create=True) as index:
        index.add_documents(docs)
        topics = story_topics(index, 5)
        assert story_topics(index, 0) == []
    assert len(topics) == 1
    topic = topics[0]
    assert topic["question"] in {t.split(" - ")[0].split(" | ")[0] for t in titles}  # the site's name cut
    assert sorted(topic["doc_ids"]) == ["doc-0", "doc-1", "doc-2"]  # not the archived report, before 2023-04
    assert topic["question_date"] == (day + dt.timedelta(days=2)).isoformat()
    nuggets = [n[0] for n in topic["nuggets"]]
    assert "tor vik" in nuggets and any("4.2 million" in n for n in nuggets)
    assert not any(n in topic["question"].lower() for n in nuggets)  # nothing the topic already says
