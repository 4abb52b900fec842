from rag.summarize import says_the_same
from rag.text import content_stems


def bag(text: str) -> set[str]:
    return set(content_stems(text))


def test_near_identical_sentences_say_the_same():
    a = bag("The bridge opened to traffic on Monday morning after four years of work.")
    b = bag("The bridge opened to traffic on Monday after four years of construction work.")
    assert says_the_same(a, b, 0.5)


def test_a_sentence_inside_another_says_the_same():
    assert says_the_same(bag("The jackpot grew."), bag("The jackpot grew to 800 million after Tuesday's draw."), 0.9)


def test_different_facts_do_not():
    a = bag("The bridge opened to traffic on Monday morning.")
    b = bag("Critics say the 1.2 billion euro bill was too high.")
    assert not says_the_same(a, b, 0.5)
    assert not says_the_same(set(), b, 0.5)
