"""Every word list rag's rules read, in one place, each with where it comes from.

The rules of question analysis, candidate spans, dates, sentence splitting, claims and
summaries lean on closed lists of English words. They live here so that each can be
read, questioned and cited at once, and so that no module grows a list of its own for
one example. What is a property of English grammar (function words, pronouns, month
names) says so; what was drawn up by hand for a class of news questions says which.
An entry belongs here when it is one of a class of words, never to make one question
come out right: the learned models (:mod:`rag.qa`, :mod:`rag.salience`) weigh the
evidence these lists mark.
"""

from __future__ import annotations

# -- Words in general -------------------------------------------------------------------

# English function words (articles, pronouns, auxiliaries, prepositions, conjunctions,
# quantifiers), listed by hand: the closed classes that standard English stop lists
# (SMART, NLTK) hold, plus "s"/"t" of split contractions and "one(s)" as a pronoun.
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from into onto about as than then so
    is are was were be been being am do does did doing done has have had having will would shall
    should can could may might must this that these those it its it's he him his she her hers they
    them their theirs we us our you your i me my mine who whom whose which what when where why how
    there here not no nor only also just very too more most much many some any all each every both
    few other such own same again further once up down out over under off after before since until
    while during through between against above below among around via per yet s t one ones""".split()
)
# The English wh-words.
QUESTION_WORDS = frozenset("who whom whose which what when where why how".split())
# Irregular past forms of common verbs of news reporting (met, went, won, said...) and
# the stem each reduces to, for rag.text.stem; English morphology, listed by hand.
IRREGULAR = {
    "met": "meet",
    "left": "leav",
    "went": "go",
    "gone": "go",
    "took": "take",
    "taken": "take",
    "made": "make",
    "came": "come",
    "saw": "see",
    "seen": "see",
    "gave": "give",
    "given": "give",
    "won": "win",
    "lost": "lose",
    "held": "hold",
    "told": "tell",
    "said": "say",
    "says": "say",
    "began": "begin",
    "begun": "begin",
    "became": "become",
    "ran": "run",
    "died": "die",
    "dies": "die",
    "flew": "fly",
    "flown": "fly",
    "rode": "ride",
    "ridden": "ride",
    "wrote": "write",
    "written": "write",
    "bought": "buy",
    "sold": "sell",
    "brought": "bring",
    "fell": "fall",
    "fallen": "fall",
    "struck": "strike",
    "travelled": "travel",
    "traveled": "travel",
    "travelling": "travel",
    "traveling": "travel",
}

# -- Sentences --------------------------------------------------------------------------

# Abbreviations a full stop does not end a sentence after: titles (Mr, Sen, Gen),
# company suffixes, month abbreviations, common Latin and address abbreviations; listed
# by hand, of the kind rule-based sentence splitters carry.
ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sen rep gov gen col lt sgt capt cmdr adm maj st jr sr inc corp co ltd llc
    no nos vs etc jan feb mar apr jun jul aug sep sept oct nov dec mt ft rev hon pres supt
    dept univ est approx fig al ave blvd rd gov't a.m p.m e.g i.e u.s u.k u.n e.u d.c""".split()
)
# Words that open an English sentence (articles, pronouns, conjunctions, prepositions,
# wh-words): a full stop before one of them ends a sentence even after an abbreviation.
SENTENCE_OPENERS = frozenset(
    """the a an he she it they we i his her its their this that these those but and or so yet
    in on at after before when while if as there here what who why how some many most""".split()
)

# -- Questions: which kind of thing a "which <noun>" asks for -----------------------------

# Head nouns of place questions ("which city", "which border town"), by hand from the
# OntoNotes GPE/LOC/FAC categories.
PLACE_NOUNS = frozenset(
    "city town country nation state province region capital village island county district place "
    "border location area continent port site venue airport stadium".split()
)
# Head nouns of person questions: roles and occupations (OntoNotes PERSON), by hand.
PERSON_NOUNS = frozenset(
    "person man woman leader president minister official player actor actress singer author king queen "
    "prince princess pope ceo founder chief governor senator judge candidate coach star rapper musician "
    "athlete politician lawmaker director executive spokesperson billionaire republican democrat".split()
)
# Head nouns of organisation questions (OntoNotes ORG): kinds of companies, media and
# institutions, by hand.
ORG_NOUNS = frozenset(
    "company firm airline carrier chain retailer brand bank team club network broadcaster channel newspaper "
    "magazine outlet organization organisation agency group party union university college school startup "
    "maker manufacturer automaker carmaker platform website studio label publisher charity regulator exchange "
    "league restaurant store supermarket insurer lender giant conglomerate business franchise".split()
)
# Head nouns of creative works (OntoNotes WORK_OF_ART), by hand.
WORK_NOUNS = frozenset(
    "film movie show series sitcom book memoir novel song album play musical documentary podcast game "
    "painting poem opera ballet artwork title biography".split()
)
# Head nouns of events (OntoNotes EVENT), by hand.
EVENT_NOUNS = frozenset(
    "event awards ceremony tournament championship festival holiday war storm hurricane cyclone summit".split()
)
# Head nouns of products (OntoNotes PRODUCT), by hand.
PRODUCT_NOUNS = frozenset(
    "product car vehicle phone device drug vaccine medication pill aircraft jet rocket spacecraft telescope chatbot software".split()
)
# Head nouns of nationalities, religions and groups (OntoNotes NORP).
NORP_NOUNS = frozenset("nationality religion ethnicity".split())
# Nouns that ask for a quantity ("what percentage", "the death toll"), by hand from the
# OntoNotes CARDINAL/MONEY/PERCENT/QUANTITY categories.
QUANTITY_NOUNS = frozenset(
    "number amount percentage percent price cost figure age total rate sum score share magnitude limit toll "
    "population salary value budget temperature speed distance height weight capacity tally fee fare wage".split()
)
# Units of time and distance that follow a number ("how many hours").
TIME_UNITS = frozenset(
    "second minute hour day night week month year decade century mile kilometer kilometre km metre meter "
    "foot feet inch".split()
)
# Currencies and units of measure written as words after a number ("1.2 billion euros",
# "8,849 metres"), by hand from the OntoNotes MONEY and QUANTITY categories and the
# currencies most traded (BIS triennial survey): the word that says what an amount is.
MEASURE_UNITS = frozenset(
    "dollar euro pound sterling yen yuan renminbi franc rupee won peso rouble ruble lira rand krona krone "
    "shekel dirham riyal dinar percent cent pence penny ton tonne kilogram kilo gram ounce litre liter gallon "
    "barrel acre hectare degree watt kilowatt megawatt gigawatt volt mph knot".split()
)
# Adjectives of "how long / far / old": part of the question's form, not its topic.
MEASURE_WORDS = frozenset("long far old".split())
# "this week", "this season": a time, not the thing a quiz's "this <noun>" asks for
# (English time nouns and the weekdays).
THIS_TIME = frozenset(
    "week weekend month year season summer spring autumn fall winter morning afternoon evening night "
    "time century decade quarter".split()
) | frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
# Verbs seldom used as nouns that end a question's focus noun phrase ('which fruit
# holds', 'which country said'): common English verbs of news reporting, by hand.
FOCUS_VERBS = (
    "say says said hold holds held want wants see sees saw become becomes became win wins won "
    "replace replaces break breaks broke bring brings brought make makes made "
    "take takes took give gives gave get gets got seem seems need needs fall falls fell send sends sent "
    "pay pays paid build builds built spend spends spent"
).split()
# English auxiliary and modal verbs: they end a question's focus ("which team did").
AUXILIARIES = frozenset("do does did is are was were has have had will would can could should may might".split())
# 'which of the following bands': a quiz's formula, not the thing asked for.
NOT_FOCUS = frozenset("following".split())
# 'which type of weather' asks for a weather: nouns of kind.
KIND_OF = frozenset("type kind sort form variety name".split())
# 'what was the cause' asks for a cause: the English copula.
COPULAS = frozenset("is was are were".split())

# -- Candidate spans --------------------------------------------------------------------

# English cardinal number words and the words of scale and vague count that a number
# answer can be written in ("ninety", "dozens", "millions").
COUNT_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand "
    "dozen dozens hundreds thousands millions billions"
).split()
# The nouns of "what percentage": the answer is a share, written with "%".
PERCENT_WORDS = ("percentage", "percent")
# English ordinal words to twelfth ("the third time").
ORDINALS = "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split()
# Titles and roles written before a name ("President", "Coach", "actress"): they mark
# the name as a person's; English honorifics and the roles of news reports, by hand.
TITLES = frozenset(
    "mr mrs ms dr prof president minister mayor governor senator sen rep chancellor king queen prince "
    "princess pope sir lady lord judge justice coach striker captain general gen col officer chief ceo "
    "chairman chairwoman secretary ambassador councillor councilor spokesman spokeswoman director "
    "leader premier pm singer actor actress author".split()
)
# Lowercase words that qualify a capitalised title before a name ("former President",
# "late Queen", "then-Senator"): English title modifiers, by hand. Other lowercase words
# before a capitalised title belong to the sentence ("join Chinese President").
TITLE_MODIFIERS = frozenset("former late acting interim outgoing incoming then ex deputy vice retired".split())
# Head nouns that end names of things rather than of people ("Vellmar Bridge", "Rovers
# Club"), by hand: English nouns of institutions, buildings and geography.
NOT_PERSON_HEADS = frozenset(
    "bridge agency stadium street road avenue company co inc corp ltd group university college school "
    "council party ministry department news tv times post bank airport station hospital church museum "
    "court army navy force forces league cup club team city county state republic kingdom union "
    "association organisation organization institute foundation committee office service crater tunnel "
    "river lake mountain island sea ocean port".split()
)
# Approximators before a number ("nearly 70", "some 300"): English degree words.
APPROXIMATORS = frozenset("nearly approximately almost around roughly over under more less fewer some".split())
# Prepositions and verbs of motion before a place name ("in", "near", "visited").
LOCATIVES = frozenset("in to at from near into across toward towards of visit visited visiting".split())
# Adjectives that rank, date or praise a thing rather than say which it is ("the new
# app", "the largest chain"), by hand.
DESCRIPTIVE = frozenset(
    "new old big small major minor popular famous main top leading only own other same such recent "
    "former current future federal national local global official key biggest largest first last next".split()
)
# Lower-case nouns ending in "est" that are no superlative ("the rainforest canopy").
EST_NOUNS = frozenset(
    "forest rainforest interest protest request contest conquest harvest arrest inquest digest manifest "
    "unrest tempest bequest midwest northwest southwest".split()
)
# The OntoNotes 5 entity labels (those of spaCy's English tagger, rag.entities) that
# name a thing rather than count or date one.
NAME_LABELS = frozenset("PERSON ORG GPE LOC FAC NORP WORK_OF_ART EVENT PRODUCT LAW LANGUAGE".split())
# Closed-class words a stop list lacks (subordinators, adverbs of time and degree): no
# noun phrase holds them.
PHRASE_BREAKS = frozenset(
    "because due according including despite although though whether unless however even already "
    "around toward towards within without across along amid upon onto instead rather almost nearly "
    "never ever always often still soon now later earlier yet thus hence therefore".split()
)

# -- Dates ------------------------------------------------------------------------------

# English month names and their usual abbreviations (AP style and others).
MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
# English weekdays, Monday = 0 as datetime.date.weekday counts.
WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
# Number words of a relative date ("two weeks ago", "a month earlier"): a vague count
# ('several') names no day.
SMALL_NUMBERS: dict[str, int] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}

# -- Claims (true or false) -------------------------------------------------------------

# English cardinals to twenty and their digits: "three" in a claim matches "3" in the
# evidence.
CARDINALS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}

# -- Summaries and page furniture -------------------------------------------------------

# Phrases of page furniture, not of reporting: the navigation, subscription, credit and
# correction lines of news sites (as on the CNN, USA Today, AP and Guardian pages of
# RealTimeQA's search results).
FURNITURE = (
    r"editor'?s note",
    r"follow (?:us|him|her|them) on",
    r"sign up (?:for|here|now|to)",
    r"subscribe (?:to|now|here)",
    r"click here",
    r"read (?:more|the full story|next)",
    r"(?:download|get) (?:our|the) app",
    r"all rights reserved",
    r"contributed to this report",
    r"this (?:story|article|post) (?:has been|was) (?:updated|corrected)",
    r"(?:photo|image|video) (?:credit|courtesy)",
    r"sent straight to your inbox",
    r"newsletter",
    r"advertisement",
)
# Labels before a colon that introduce a link, a list or a live feed ("The latest:",
# "Related:"): news sites' navigation, as above.
NAVIGATION_LABELS = frozenset(
    {
        "the latest",
        "latest",
        "related",
        "more",
        "read more",
        "watch",
        "listen",
        "live updates",
        "what we know",
        "opinion",
        "analysis",
        "explainer",
        "update",
        "breaking",
        "key points",
        "context",
        "fact check",
        "the claim",
        "our rating",
        "what to know",
        "photos",
        "video",
        "see also",
        "also read",
    }
)
# Personal and possessive pronouns and demonstratives (the English closed class): an
# opening that refers back.
PRONOUNS = frozenset({"he", "she", "they", "it", "his", "her", "their", "its", "him", "them", "these", "those"})
# First-person pronouns: opening a news sentence outside quotation marks, the words of a
# speaker whose quotation the sentence before opened (the English closed class).
FIRST_PERSON = frozenset({"i", "we", "me", "us", "my", "our"})
# 'This'/'that' point back when they are the subject ("That was the first ...", read by
# rag.discourse before an auxiliary), not when they pick a noun ("This week ...").
DEMONSTRATIVES = frozenset({"this", "that"})
# Sentence-initial discourse connectives from the Penn Discourse Treebank's explicit
# list that relate a sentence to the one before it, and a few multi-word ones
# ("before that", "by then") of the same kind.
CONNECTIVES = (
    "also",
    "but",
    "however",
    "still",
    "yet",
    "meanwhile",
    "moreover",
    "furthermore",
    "instead",
    "nevertheless",
    "nonetheless",
    "otherwise",
    "besides",
    "then",
    "thus",
    "hence",
    "therefore",
    "consequently",
    "likewise",
    "similarly",
    "indeed",
    "and",
    "or",
    "so",
    "before that",
    "after that",
    "since then",
    "in addition",
    "as a result",
    "by then",
    "at the time",
    "in turn",
    "on the other hand",
    "even so",
    "that was",
    "that is",
    "this was",
    "this is",
    "plus",
    "additionally",
    "accordingly",
    "alternatively",
    "conversely",
    "in contrast",
    "by contrast",
    "in fact",
    "for example",
    "for instance",
    "in other words",
    "subsequently",
    "thereafter",
)
