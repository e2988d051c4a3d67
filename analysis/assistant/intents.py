"""The nine intents, and the phrasings clear enough to decide one without a classifier.

Rules read the *masked* message (skills are ``SKILL``, dates ``DATE``, ...): "who can
help" means a mentor whatever follows, "is it outdated" means freshness, "why" asks for
an explanation. When several rules fire, the one that starts first wins ("how am I doing
and what should I do next" asks about progress first); a tie goes to the order of
:data:`RULES`. Everything else goes to the trained classifier.
"""

from __future__ import annotations

import re

__all__ = ["INTENTS", "RULES", "rule_intent", "is_follow_up_cue", "is_confirmation", "mentions_learning"]

INTENTS: tuple[str, ...] = ("next_step", "path", "explain", "search", "progress", "mentor", "set_goal", "stale",
                            "help")
_I = re.IGNORECASE
_SHORT_HELP = re.compile(r"^\s*(?:help|help me|commands|menu|options|\?+|hi|hello|hey|yo|hiya|howdy|"
                         r"good\s+(?:morning|afternoon|evening|night)|thanks?(?:\s+you)?|thx|ty|cool|great|nice|ok|okay|"
                         r"bye|goodbye)\s*[.!?]*\s*$", _I)
RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("help", _SHORT_HELP),
    ("help", re.compile(r"\bwhat\s+(?:can|do)\s+you\s+do\b|\bwhat\s+(?:kind\s+of\s+)?questions\s+can\s+i\s+ask\b|"
                        r"\bhow\s+(?:do\s+i\s+use\s+(?:you|this|the\s+assistant)|does\s+this\s+work)\b|"
                        r"\byour\s+(?:capabilities|features|commands)\b|\bwhat\s+are\s+you\b|"
                        r"\bwhat\s+does\s+this\s+(?:app|assistant|tool|thing|bot)\s+do\b", _I)),
    ("mentor", re.compile(r"\bmentors?\b|\bpair[- ]?program|"
                          r"\bwho(?:'s|\s+is|\s+are)?\b[^.?!]{0,30}?\b(?:can|could|would|to)?\s*(?:help|hlep|hepl|knows?|teach|"
                          r"explain|review|coach|guide|ask|pair)\b|"
                          r"\bwho\s+(?:is|are)\s+(?:an?\s+)?(?:expert|good|experienced)\b|"
                          r"\b(?:someone|somebody|anyone|anybody|a\s+person|a\s+human|an\s+expert|experts?)\b[^.?!]{0,30}?"
                          r"\b(?:help|knows?|teach|explain|review|pair|experienced|talk|to\s+talk)\b|"
                          r"\b(?:help|talk)\b[^.?!]{0,20}?\b(?:a\s+person|a\s+human|someone|somebody|an\s+expert)\b|"
                          r"\b(?:someone|somebody|expert)\s+(?:experienced|who\s+knows)\b|"
                          r"\bexperts?\s+(?:on|in|for|with)\s+SKILL\b|\bin\s+touch\s+with\b", _I)),
    ("stale", re.compile(r"\b(?:outdated|out[- ]of[- ]date|up[- ]to[- ]date|stale|obsolete|freshness|"
                         r"still\s+(?:relevant|current|valid|accurate|work|up)|fresh\b|last\s+updated|been\s+updated|"
                         r"last\s+update|updated\s+(?:recently|lately)|how\s+(?:old|recent|current)|need\w*\s+(?:updating|"
                         r"a\s+refresh|refreshing)|old\s+version|latest\s+version|too\s+old|current\?)|"
                         r"\b(?:is|are)\b[^.?!]{0,40}\bold\b", _I)),
    ("explain", re.compile(r"^\W*(?:why|how\s+come)\b|\bexplain\b|\b(?:difference\s+between|different\s+from|versus)\b|"
                           r"\bprerequisites?\b|\bprereqs?\b|\bwhat\s+(?:comes|is\s+needed|do\s+i\s+need(?:\s+to\s+know)?|"
                           r"should\s+i\s+know)\s+(?:before|after)\b|\bneeded\s+before\b|\bbuild\s+on\b|"
                           r"^\W*(?:what|whats|what's)\s*(?:is|are|'s|does)?\s+(?:an?\s+|the\s+)?SKILL\b\W*(?:mean|stand|"
                           r"used|cover)?\b[^A-Z]*$|\btell\s+me\s+about\s+(?:the\s+skill\s+)?SKILL\b|"
                           r"\bwhat\s+skills\s+does\b|\bwhat\s+does\s+ITEM\b|\bwhat\s+will\s+i\s+learn\s+from\b|"
                           r"\bhow\s+(?:does|will|would|is)\s+(?:this|that|it|ITEM)\b[^?]*\b(?:help|useful)|"
                           r"\bwhat'?s\s+the\s+point\s+of\b|\breason\s+(?:for|behind)\b", _I)),
    ("progress", re.compile(r"\bhow\s+(?:am\s+i|'?m\s+i|m\s+i|is\s+my|are\s+my)\s+\w*\s*(?:doing|doin|getting|progress|"
                            r"coming)|\bmy\s+progress\b|\bprogress\s+(?:report|update)\b|\bon\s+(?:track|schedule)\b|"
                            r"\bam\s+i\s+(?:behind|ahead|close|improving|making\s+progress|going\s+to\s+make)\b|"
                            r"\bhow\s+(?:far|close)\s+(?:am\s+i|along)\b|\bwhat\s+(?:have|did)\s+i\s+(?:complete|"
                            r"completed|finish|finished|done|learn|learned|learnt)\b|\bmy\s+(?:level|mastery|stats|status|"
                            r"skill\s+levels)\b|\bwhat\s+level\s+am\s+i\b|\bhave\s+i\s+(?:mastered|finished|reached|"
                            r"completed|met)\b|\bhow\s+(?:good|well|strong)\s+(?:am\s+i|do\s+i\s+know|is\s+my)\b|"
                            r"\bmy\s+current\s+level\b|\bhow\s+many\s+\w+\s+(?:have|did)\s+i\b|"
                            r"\bhow\s+much\s+of\s+my\b|\bwill\s+i\s+(?:hit|make|meet)\b|\bmy\s+(?:weak|strong)\w*\b|"
                            r"\bstrengths?\b|\bweak\s+spots?\b|\bwhat\s+i'?ve\s+(?:learned|learnt|done|completed)\b|"
                            r"\breport\s+on\s+my\b|\bsummary\s+of\s+(?:my|what)\b", _I)),
    ("set_goal", re.compile(r"\b(?:set|add|change|update|remove|drop|delete|replace|switch|move|record)\b[^.?!]{0,40}?"
                            r"\b(?:goals?|targets?|deadlines?)\b|\bmy\s+(?:new\s+|main\s+)?(?:goal|target)\s+is\s+(?:to|now|SKILL|LEVEL)\b|"
                            r"\bnew\s+(?:goal|target)\b|^\W*(?:goal|target|aim)\s*[:=]|"
                            r"\bmake\s+[^.?!]{0,30}\bmy\s+(?:main\s+)?goal\b|\bto\s+my\s+goals\b|"
                            r"^\W*(?:i|i'd|id|i\s+would|i'm|im)\s+(?:want|wanna|would\s+like|like|love|plan|need|"
                            r"going|gonna|hope)\s+(?:to\s+)?(?:learn|master|study|get|become|reach|pick\s+up|focus|be)\b"
                            r"(?![^?]*(?:\?|\bhow\b|\bwhere\b|\bwhat\b|\bwhich\b))", _I)),
    ("path", re.compile(r"\b(?:road\s?-?map|learning\s+path|my\s+path|study\s+plan|learning\s+plan|curriculum|"
                        r"step[- ]by[- ]step\s+plan|sequence)\b|^\W*plan\b|\b(?:what|which)\s+order\b|"
                        r"\bsteps?\s+(?:to|towards?|lead|leading)\b|\bhow\s+long\s+(?:until|till|will\s+it\s+take|"
                        r"before)\b|\b(?:a|my|the|your)\s+(?:[\w-]+\s+){0,2}plan\b|"
                        r"\bhow\s+(?:do|can|should|would)\s+i\s+(?:get|go|reach|become|learn|master|prepare)\b", _I)),
    ("next_step", re.compile(r"\bwhat(?:'s|s|\s+is)?\s+(?:up\s+)?next\b|\bwhat\s+now\b|\bnext\s+(?:step|thing|task|move|"
                             r"lesson)\b|\bwhat\s+should\s+i\s+(?:do|study|learn|work\s+on|tackle|try|read|watch|"
                             r"focus\s+on|be\s+working\s+on)\b", _I)),
)
_FOLLOW_UP = re.compile(r"^\W*(?:and|what\s+about|how\s+about|what\s+of|same|ones|instead|but)\b|\binstead\b|"
                        r"\b(?:too|as\s+well)\W*$", _I)
_WEAK_FOLLOW_UP = re.compile(r"^\W*(?:any|anything|something|only|just|more|less|no|not|without|except|"
                             r"SHORTER|LONGER|EASIER|HARDER|"
                             r"DURATION|LEVEL|TYPE|NOTTYPE|LANG|in\s+LANG|under|max|ok\s+and|then)\b", _I)
# Words of learning: a message with none of them and nothing found in it is not a question
# SkillPath's data can answer ("what's for lunch"), whatever the classifier guesses.
_LEARNING = re.compile(r"\b(?:learn\w*|stud\w*|next|now|step|steps|plan\w*|path|road\s?map|goals?|progress\w*|levels?|"
                       r"mentors?|skills?|resources?|recommend\w*|suggest\w*|tasks?|lessons?|practi[cs]e|track|"
                       r"deadline|complet\w*|finish\w*|doing|doin|know|explain|why|prerequisites?|order|curriculum|"
                       r"read|watch|work|tackle|master\w*|improv\w*|stats|status|strengths?|weak\w*|expert\w*|"
                       r"mastery|course|material|content|stuff|search|find|teach\w*|help|review|pair|career|continue|"
                       r"\w*ops|data|engineer\w*|develop\w*|programming|coding|code|"
                       r"SKILL|TYPE|NOTTYPE|DURATION|LEVEL|DATE|ITEM|LANG|SHORTER|LONGER|EASIER|HARDER)\b", _I)
_YES = re.compile(r"^\W*(?:yes|yep|yeah|yup|sure|ok|okay|confirm|confirmed|do\s+it|go\s+ahead|please\s+do|correct|"
                  r"that's\s+right|right)\b", _I)
_NO = re.compile(r"^\W*(?:no|nope|nah|cancel|don'?t|do\s+not|stop|never\s*mind|wait)\b", _I)


def rule_intent(masked: str) -> tuple[str, int] | None:
    """``(intent, position)`` of the earliest clear phrasing in ``masked``, else None."""
    best: tuple[int, int, str] | None = None
    for order, (intent, pattern) in enumerate(RULES):
        m = pattern.search(masked)
        if m is not None and (best is None or (m.start(), order) < best[:2]):
            best = (m.start(), order, intent)
    return None if best is None else (best[2], best[0])


def is_follow_up_cue(masked: str, *, has_new_skills: bool) -> bool:
    """Whether a message reads as a change to the previous answer ("and shorter ones?").

    Strong cues ("and", "what about", "instead", "too") count whatever follows; weak ones
    ("only", "any", a bare filter) only when no new skill is named, so "any courses on
    rust?" after a plan is a new search.
    """
    if _FOLLOW_UP.search(masked):
        return True
    return not has_new_skills and bool(_WEAK_FOLLOW_UP.search(masked))


def mentions_learning(masked: str) -> bool:
    """Whether a masked message names anything SkillPath knows or uses a word of learning."""
    return bool(_LEARNING.search(masked))


def is_confirmation(message: str) -> bool | None:
    """True for "yes", False for "no", None for anything else (a pending goal's answer)."""
    if _NO.search(message):
        return False
    if _YES.search(message):
        return True
    return None
