"""Genre data for the offline story writer, kept apart so script.py stays pure logic.

Template slots: {hero} protagonist name, {subject} short topic phrase, {noun} and {noun2}
two different genre nouns, {adj} a genre adjective, {place} a genre place, {who} a
character's introduction, {name} a supporting character. Captions may use {Noun} and
{Hero}. Lines, intros, cameos and tails have no final punctuation and are joined by the
writer; hooks and fragments are finished sentences.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Beat:
    """One step of a genre's story arc; scenes are mapped onto beats in order."""

    name: str
    mood: str
    lines: tuple[str, ...]
    captions: tuple[str, ...]
    climax: bool = False


@dataclass(frozen=True)
class Genre:
    """Everything that gives one story_type its own voice."""

    names: tuple[str, ...]
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    places: tuple[str, ...]
    hooks: dict[str, tuple[str, ...]]
    intros: tuple[str, ...]
    cameos: tuple[str, ...]
    fragments: tuple[str, ...]
    tails: tuple[str, ...]
    arc: tuple[Beat, ...]

    @property
    def moods(self) -> frozenset[str]:
        """The fixed mood vocabulary of this genre, derived from its arc."""
        return frozenset(beat.mood for beat in self.arc)


JOINERS: tuple[str, ...] = (
    ", and ",
    ", while ",
    ", and all the while ",
    " as ",
    ", and soon ",
    ", even as ",
)

# fmt: off
SMALL_WORDS: frozenset[str] = frozenset((
    "a", "an", "and", "as", "at", "but", "by", "for", "in", "nor", "of", "on", "or", "the",
    "to", "vs", "with", "from", "into",
))
STOPWORDS: frozenset[str] = frozenset((
    "a", "an", "the", "of", "and", "or", "but", "in", "on", "at", "to", "for", "from", "with",
    "by", "about", "into", "over", "under", "how", "why", "what", "when", "where", "who",
    "which", "is", "are", "was", "were", "be", "been", "do", "does", "did", "my", "our",
    "your", "their", "his", "her", "its", "this", "that", "these", "those", "it", "they", "we",
    "you", "i", "vs", "versus", "than", "then", "so", "not", "no", "very", "most", "more",
    "some", "any", "all", "every", "one", "two", "new", "old", "secret", "story", "tale",
    "truth",
))
NOT_NOUNS: frozenset[str] = frozenset((
    "went", "go", "goes", "going", "gone", "came", "come", "comes", "become", "became",
    "becomes", "made", "make", "makes", "changed", "change", "changes", "happened", "happen",
    "happens", "work", "works", "worked", "saved", "save", "lost", "lose", "found", "find",
    "wrong", "right", "real", "really", "ever", "never", "first", "last", "best", "worst",
    "big", "small", "great", "little", "long", "short", "forgotten", "hidden", "strange",
    "weird", "true", "false", "inside", "behind", "beyond", "against", "without", "explained",
    "explain", "can", "could", "would", "should", "will", "must", "may", "might", "just",
    "only", "still", "ago", "left", "here", "there", "something", "nothing", "everything",
    "anything",
))
LEADING_WORDS: frozenset[str] = frozenset((
    "the", "a", "an", "my", "our", "this", "that", "how", "why", "what", "when",
))

ONES: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)
TENS: tuple[str, ...] = (
    "_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
)
# fmt: on

GENRES: dict[str, Genre] = {
    "scary_horror": Genre(
        names=("Mara", "Elias", "June", "Tobias", "Nell", "Gideon"),
        nouns=(
            "door",
            "lantern",
            "mirror",
            "staircase",
            "window",
            "candle",
            "footprint",
            "bell",
            "photograph",
            "cellar",
        ),
        adjectives=("cold", "silent", "pale", "narrow", "crooked", "damp"),
        places=(
            "the empty hallway",
            "the flooded cellar",
            "the edge of the woods",
            "the locked attic",
            "the black shoreline",
        ),
        hooks={
            "low": (
                "The evening {subject} first came up, the town was quiet and the sea was calm.",
                "For years nobody in the village gave {subject} a second thought.",
            ),
            "medium": (
                "Everyone who learned the truth about {subject} stopped talking about it.",
                "There is a reason the locals never mention {subject} after dark.",
            ),
            "high": (
                "What if {subject} was never empty at all?",
                "Three people went looking for {subject}, and only one came back.",
            ),
            "extreme": (
                "Run, before {subject} finds you!",
                "Can you hear it breathing?",
            ),
        },
        intros=(
            "{who} arrived near {place} on the last bus of the evening",
            "{who} had only meant to stay one night close to {subject}",
            "{who} never believed in ghost stories, not until that week",
        ),
        cameos=(
            "{name} kept the {noun} close and refused to say a word",
            "{name} whispered that the {noun} had moved again",
            "{name} stood near {place}, staring at nothing at all",
        ),
        fragments=(
            "Then, silence.",
            "Nothing moved.",
            "Closer now.",
            "It was waiting.",
            "Not again.",
        ),
        tails=(
            "under a sky the color of old ash",
            "long after the last light had gone out",
            "as if the walls themselves were holding their breath",
            "while the wind pressed hard against the glass",
        ),
        arc=(
            Beat(
                "ordinary",
                "calm",
                (
                    "the {adj} air around {subject} smelled of salt and old rain",
                    "{hero} unpacked slowly and set the {noun} beside the bed",
                    "at first, {place} looked like any other forgotten corner of the coast",
                    "the neighbors smiled politely whenever {subject} came up",
                    "{hero} told everyone the trip was only a chance to rest",
                ),
                ("A Quiet Arrival", "The {Noun} Waits"),
            ),
            Beat(
                "wrong_detail",
                "unease",
                (
                    "the {noun} was not where {hero} had left it",
                    "someone had scratched a single word into the {noun}",
                    "every clock near {subject} had stopped at the same minute",
                    "{hero} noticed wet footprints that led toward {place} and nowhere else",
                    "the {adj} {noun} seemed to lean a little closer each hour",
                ),
                ("Something Is Wrong", "The Moved {Noun}"),
            ),
            Beat(
                "escalation",
                "dread",
                (
                    "the knocking started again, closer this time",
                    "each night the {noun} grew colder to the touch",
                    "{hero} heard slow footsteps pacing somewhere near {place}",
                    "old pictures of {subject} showed a figure that had not been there before",
                    "the {noun2} cracked from top to bottom while {hero} watched",
                ),
                ("It Gets Closer", "Footsteps Below"),
            ),
            Beat(
                "confrontation",
                "terror",
                (
                    "{hero} finally forced open the way into {place}",
                    "a tall shape rose from the dark beside the {noun}",
                    "it spoke in a voice that sounded exactly like {hero}",
                    "the {adj} heart of {subject} turned toward {hero} and went still",
                    "{hero} ran, and the thing in the dark ran faster",
                ),
                ("Face to Face", "The Thing Inside"),
                True,
            ),
            Beat(
                "ambiguous_end",
                "unease",
                (
                    "by morning, {place} was empty and perfectly still",
                    "no one could explain the {noun} left on the doorstep",
                    "{hero} never spoke about {subject} again",
                    "some nights the {noun} still appears where it should not be",
                    "if you listen closely, the knocking has not really stopped",
                ),
                ("Was It Real", "Still Waiting"),
            ),
        ),
    ),
    "mystery": Genre(
        names=("Iris", "Declan", "Vera", "Owen", "Lena", "Felix"),
        nouns=(
            "letter",
            "key",
            "notebook",
            "map",
            "ticket",
            "envelope",
            "watch",
            "ledger",
            "fingerprint",
            "photograph",
        ),
        adjectives=("torn", "faded", "missing", "coded", "smudged", "hidden"),
        places=(
            "the reading room",
            "the station platform",
            "the old manor",
            "the harbor office",
            "the back of the bookshop",
        ),
        hooks={
            "low": (
                "On an ordinary grey morning, a small question about {subject} landed on the desk.",
                "It began, as these things often do, with a quiet afternoon and {subject}.",
            ),
            "medium": (
                "Nobody could explain why {subject} kept turning up in the same three places.",
                "One missing detail about {subject} was about to change everything.",
            ),
            "high": (
                "Who would go to such lengths to hide {subject}?",
                "The records about {subject} were forged, and someone wanted it that way.",
            ),
            "extreme": (
                "You have been lied to about {subject}!",
                "Who is really watching you?",
            ),
        },
        intros=(
            "{who} had solved smaller puzzles, but never one like {subject}",
            "{who} was the first to notice that the story did not add up",
            "{who} took the case on a wet Tuesday near {place}",
        ),
        cameos=(
            "{name} claimed to know nothing about the {noun}",
            "{name} had been seen near {place} that very night",
            "{name} offered help a little too quickly",
        ),
        fragments=(
            "Interesting.",
            "A pattern.",
            "Too neat.",
            "Someone knew.",
            "Not a coincidence.",
        ),
        tails=(
            "as rain traced lines down the window",
            "though the answer still refused to come into focus",
            "in a town that preferred its secrets buried",
            "while the clock on the wall kept patient time",
        ),
        arc=(
            Beat(
                "setup",
                "curiosity",
                (
                    "the file on {subject} was thinner than it should have been",
                    "{hero} spread the {noun} and the {noun2} across the table",
                    "everyone agreed on the facts of {subject}, and that was the first warning",
                    "a quiet visit to {place} raised more questions than answers",
                    "{hero} started a fresh list of who had been where",
                ),
                ("An Open Question", "The {Noun} on the Desk"),
            ),
            Beat(
                "clue",
                "suspense",
                (
                    "a {adj} {noun} pointed straight back to {place}",
                    "the dates in the {noun} did not match the official story",
                    "{hero} found the same initials written twice",
                    "a witness remembered the {noun} but not the face",
                    "something about {subject} had been moved after the fact",
                ),
                ("The First Clue", "A {Adj} {Noun}"),
            ),
            Beat(
                "complication",
                "tension",
                (
                    "the obvious suspect had an alibi that held firm",
                    "the {noun} vanished from the evidence box overnight",
                    "{hero} realized someone was following the same trail",
                    "each answer about {subject} opened two new doors",
                    "a second {noun} turned up, and it contradicted the first",
                ),
                ("A Trail Goes Cold", "Two Stories"),
            ),
            Beat(
                "revelation",
                "revelation",
                (
                    "the {adj} {noun} had been the key all along",
                    "{hero} finally saw how every piece of {subject} fit together",
                    "the truth had been sitting in {place} the whole time",
                    "one name appeared behind every strange detail",
                    "the person who knew most had spoken the least",
                ),
                ("The Pieces Fit", "Hidden in Plain Sight"),
                True,
            ),
            Beat(
                "resolution",
                "calm",
                (
                    "the case of {subject} was closed, at least on paper",
                    "{hero} returned the {noun} to where it belonged",
                    "a small question still lingered after the files were sealed",
                    "the town went back to its quiet routine",
                    "{hero} kept one copy of the {noun}, just in case",
                ),
                ("Case Closed", "One Last Question"),
            ),
        ),
    ),
    "true_crime": Genre(
        names=("Dana", "Marcus", "Ellen", "Victor", "Rosa", "Paul"),
        nouns=(
            "car",
            "receipt",
            "phone",
            "camera",
            "badge",
            "jacket",
            "wallet",
            "warrant",
            "courthouse",
            "tape",
        ),
        adjectives=("grainy", "unsigned", "abandoned", "sealed", "late", "official"),
        places=(
            "the county road",
            "the small apartment",
            "the police station",
            "the parking lot",
            "the courthouse steps",
        ),
        hooks={
            "low": (
                "It was a mild evening in a quiet county when the events behind {subject} began.",
                "On paper, the people connected to {subject} lived perfectly ordinary lives.",
            ),
            "medium": (
                "For years the official account of {subject} went unquestioned.",
                "The first call about {subject} came in just after midnight.",
            ),
            "high": (
                "How did {subject} stay unsolved for so long?",
                "The key evidence in {subject} was logged, then lost.",
            ),
            "extreme": (
                "You would never have suspected them!",
                "Could this happen on your street?",
            ),
        },
        intros=(
            "{who} was the detective assigned to {subject}",
            "{who} gave the first statement, sitting near {place}",
            "{who} had lived in the area for most of a lifetime",
        ),
        cameos=(
            "{name} told investigators about the {noun}",
            "{name} was interviewed a second time near {place}",
            "{name} asked that some details stay private",
        ),
        fragments=("No witnesses.", "No motive.", "Case open.", "Then a lead.", "Years passed."),
        tails=(
            "according to the records filed that week",
            "as local papers began to pick up the story",
            "though the family still waited for real answers",
            "in a case that would take years to untangle",
        ),
        arc=(
            Beat(
                "background",
                "somber",
                (
                    "the neighborhood around {subject} was known for being safe",
                    "most evenings there ended without a single incident",
                    "{hero} later described {place} as calm and unremarkable",
                    "nobody expected {subject} to make the evening news",
                    "the {noun} found later would tell a different story",
                ),
                ("Before It Happened", "A Quiet Town"),
            ),
            Beat(
                "crime",
                "dread",
                (
                    "a {adj} {noun} was found near {place} the next morning",
                    "the timeline of {subject} had a gap of almost two hours",
                    "the {noun} was still warm when officers arrived",
                    "{hero} noted that nothing of value had been taken",
                    "the first report about {subject} was only four lines long",
                ),
                ("The Night in Question", "What Was Found"),
            ),
            Beat(
                "investigation",
                "tension",
                (
                    "investigators pulled every {noun} from the surrounding blocks",
                    "{hero} rebuilt the timeline minute by minute",
                    "a {adj} {noun2} placed someone at {place}",
                    "dozens of tips about {subject} led nowhere",
                    "the forensic report on the {noun} was delayed for months",
                ),
                ("Following the Evidence", "The {Noun} Trail"),
            ),
            Beat(
                "break",
                "shock",
                (
                    "a new test on the {noun} changed the direction of the case",
                    "one witness finally admitted what they had seen at {place}",
                    "{hero} matched the {noun} to a name nobody expected",
                    "the arrest connected to {subject} stunned the whole county",
                    "the {adj} evidence that had been ignored was suddenly central",
                ),
                ("The Break", "A Name at Last"),
                True,
            ),
            Beat(
                "aftermath",
                "sorrow",
                (
                    "the trial over {subject} lasted eleven weeks",
                    "{hero} still keeps a copy of the first report",
                    "the families involved continue to ask hard questions",
                    "{place} looks the same today, but it does not feel the same",
                    "the case of {subject} is now taught as a lesson in patience",
                ),
                ("What Remains", "After the Verdict"),
            ),
        ),
    ),
    "fantasy": Genre(
        names=("Aria", "Thorne", "Elowen", "Kael", "Brynn", "Orin"),
        nouns=(
            "sword",
            "crown",
            "dragon",
            "amulet",
            "tower",
            "forest",
            "scroll",
            "staff",
            "river",
            "castle",
        ),
        adjectives=("ancient", "glowing", "enchanted", "shattered", "silver", "forgotten"),
        places=(
            "the misty valley",
            "the crystal caves",
            "the edge of the kingdom",
            "the high mountain pass",
            "the ruined citadel",
        ),
        hooks={
            "low": (
                "Long ago, in a valley where rivers sang softly, people spoke of {subject}.",
                "In a quiet kingdom at the edge of every map, {subject} was only a bedtime tale.",
            ),
            "medium": (
                "The old songs about {subject} left out one important verse.",
                "Only one family still remembered how {subject} had truly begun.",
            ),
            "high": (
                "What if {subject} was the only thing holding back the dark?",
                "The prophecy about {subject} was wrong about one thing.",
            ),
            "extreme": (
                "Your world ends at dawn!",
                "Will you answer the call?",
            ),
        },
        intros=(
            "{who} grew up in a village far from {place}",
            "{who} had never held a {noun} before that spring",
            "{who} was chosen, though nobody could say why",
        ),
        cameos=(
            "{name} carried the {noun} without complaint",
            "{name} knew the old paths toward {place}",
            "{name} sang softly to keep everyone brave",
        ),
        fragments=(
            "The wind changed.",
            "Magic stirred.",
            "Onward.",
            "A light appeared.",
            "The ground shook.",
        ),
        tails=(
            "beneath a sky full of slow, bright stars",
            "as the old magic hummed in the stones",
            "while distant bells rang across the hills",
            "in a land that had almost forgotten hope",
        ),
        arc=(
            Beat(
                "ordinary_world",
                "calm",
                (
                    "life near {place} was simple and slow",
                    "{hero} spent the mornings tending the {noun} and the fields",
                    "the legends of {subject} were told by the fire each winter",
                    "the {adj} {noun} above the hearth had gathered dust for years",
                    "nothing in the valley hinted at what was coming",
                ),
                ("A Simple Life", "The Quiet Valley"),
            ),
            Beat(
                "call",
                "wonder",
                (
                    "one night the {adj} {noun} began to glow",
                    "a stranger arrived with news of {subject}",
                    "{hero} found a map that led toward {place}",
                    "the stars over {subject} rearranged themselves into a warning",
                    "a voice in the {noun} called {hero} by name",
                ),
                ("The Call", "The {Noun} Awakens"),
            ),
            Beat(
                "trials",
                "peril",
                (
                    "the road to {place} tested every step",
                    "{hero} crossed the {adj} river at the cost of the {noun}",
                    "shadow creatures guarded the way to {subject}",
                    "a broken {noun} forced the company to turn back once",
                    "{hero} learned that courage was a choice made again each day",
                ),
                ("Trials of the Road", "Into the Dark"),
            ),
            Beat(
                "battle",
                "peril",
                (
                    "at {place}, the darkness finally showed its face",
                    "{hero} raised the {noun} as the {noun2} split apart",
                    "the {adj} power of {subject} flared brighter than the sun",
                    "for one long breath, everything hung in the balance",
                    "the final blow came from the least expected hand",
                ),
                ("The Last Stand", "Light Against Dark"),
                True,
            ),
            Beat(
                "return",
                "triumph",
                (
                    "the valley woke to a morning it had almost lost",
                    "{hero} returned the {noun} to its resting place",
                    "new songs about {subject} spread from village to village",
                    "the {adj} tower stood quiet, its watch finally over",
                    "{hero} looked toward the horizon and wondered what came next",
                ),
                ("Home Again", "A New Legend"),
            ),
        ),
    ),
    "sci_fi": Genre(
        names=("Nova", "Rhys", "Kira", "Dax", "Suri", "Milo"),
        nouns=(
            "signal",
            "station",
            "drone",
            "reactor",
            "probe",
            "console",
            "satellite",
            "airlock",
            "beacon",
            "hull",
        ),
        adjectives=("orbital", "flickering", "synthetic", "derelict", "quantum", "encrypted"),
        places=(
            "the outer ring",
            "the research deck",
            "the dark side of the moon",
            "the cargo bay",
            "the control room",
        ),
        hooks={
            "low": (
                "In the year the colonies went quiet, the work on {subject} continued as usual.",
                "Far beyond the last relay station, a small crew kept watch over {subject}.",
            ),
            "medium": (
                "The data about {subject} should not have been possible.",
                "Somebody rewrote the logs about {subject} while the crew slept.",
            ),
            "high": (
                "What if {subject} was sending a message back?",
                "The signal from {subject} was coming from the future.",
            ),
            "extreme": (
                "You have ninety seconds left!",
                "Are you still human?",
            ),
        },
        intros=(
            "{who} was the youngest engineer ever posted to {place}",
            "{who} had spent three years studying {subject}",
            "{who} was on watch when the first alarm sounded",
        ),
        cameos=(
            "{name} rerouted power to the {noun}",
            "{name} ran the numbers again near {place}",
            "{name} argued that the crew should turn back",
        ),
        fragments=(
            "Static.",
            "Systems failing.",
            "Then, contact.",
            "No reply.",
            "Countdown started.",
        ),
        tails=(
            "while the stars wheeled slowly past the viewport",
            "as the station hummed in the endless dark",
            "thousands of miles from the nearest human voice",
            "under the steady glow of the emergency lights",
        ),
        arc=(
            Beat(
                "status_quo",
                "calm",
                (
                    "routine checks on the {noun} filled most of the shift",
                    "{hero} logged another quiet cycle near {place}",
                    "the mission around {subject} had run smoothly for months",
                    "the {adj} {noun} drifted on its fixed path",
                    "nobody on board expected anything to change",
                ),
                ("Routine Orbit", "All Systems Normal"),
            ),
            Beat(
                "anomaly",
                "curiosity",
                (
                    "a faint pattern appeared inside the {noun} readings",
                    "{hero} traced the strange pulse back to {subject}",
                    "the {adj} {noun} answered a question nobody had asked",
                    "sensors near {place} recorded something warm and moving",
                    "the pattern repeated, precise as a heartbeat",
                ),
                ("The Anomaly", "A Strange {Noun}"),
            ),
            Beat(
                "crisis",
                "tension",
                (
                    "the {noun} overloaded and sealed {place}",
                    "{hero} had minutes to stabilize the {noun2}",
                    "the {adj} signal from {subject} grew louder with every pass",
                    "half the crew wanted to destroy the source",
                    "warning lights washed the corridors in red",
                ),
                ("Red Alert", "Systems Failing"),
            ),
            Beat(
                "breakthrough",
                "awe",
                (
                    "{hero} realized the signal was a map, not a threat",
                    "the {adj} {noun} opened, revealing a sky full of new stars",
                    "{subject} had been waiting for someone to listen",
                    "for the first time, the crew understood the message",
                    "the station turned toward a light no one had seen before",
                ),
                ("First Contact", "The Message"),
                True,
            ),
            Beat(
                "horizon",
                "wonder",
                (
                    "the logs about {subject} were sent home with a single new heading",
                    "{hero} watched the {noun} fade into the distance",
                    "the crew charted a course beyond {place}",
                    "somewhere out there, something was still listening",
                    "the future suddenly looked far larger than before",
                ),
                ("New Horizons", "Beyond the Stars"),
            ),
        ),
    ),
    "motivational": Genre(
        names=("Maya", "Jordan", "Alex", "Priya", "Sam", "Leo"),
        nouns=(
            "alarm",
            "notebook",
            "shoes",
            "calendar",
            "pen",
            "medal",
            "bicycle",
            "dumbbell",
            "journal",
            "whiteboard",
        ),
        adjectives=("small", "daily", "quiet", "stubborn", "honest", "steady"),
        places=(
            "the starting line",
            "the empty gym",
            "the kitchen table",
            "the top of the hill",
            "the first day of work",
        ),
        hooks={
            "low": (
                "Most mornings begin the same way, and for a long time {subject} felt far away.",
                "There is a quiet moment before every change, and {subject} began in one.",
            ),
            "medium": (
                "Nobody tells you that {subject} starts with a very bad day.",
                "The people who master {subject} are not the ones you would expect.",
            ),
            "high": (
                "What if one decision could change everything about {subject}?",
                "Most people quit {subject} one step before it starts working.",
            ),
            "extreme": (
                "Stop waiting for permission!",
                "What are you afraid of?",
            ),
        },
        intros=(
            "{who} had failed at {subject} more times than anyone could count",
            "{who} started with nothing but a notebook and a stubborn streak",
            "{who} was told, more than once, to give up",
        ),
        cameos=(
            "{name} showed up every single morning, no matter what",
            "{name} said the words that changed everything",
            "{name} had walked the same road years before",
        ),
        fragments=("Again.", "One more step.", "Keep going.", "No excuses.", "Begin now."),
        tails=(
            "even when nobody was watching",
            "one small step at a time",
            "long before the results began to show",
            "on the days when quitting felt easier",
        ),
        arc=(
            Beat(
                "struggle",
                "sorrow",
                (
                    "every attempt at {subject} seemed to end in the same place",
                    "{hero} stared at the {noun} and felt the weight of another missed goal",
                    "doubt was loudest late at night, near {place}",
                    "the {adj} progress was invisible to everyone else",
                    "there were days when even looking at the {noun} felt too heavy",
                ),
                ("The Hard Part", "Falling Down"),
            ),
            Beat(
                "turning_point",
                "hope",
                (
                    "one honest conversation changed the way {hero} saw {subject}",
                    "{hero} wrote one {adj} goal on a scrap of paper",
                    "the turning point was not dramatic, just a decision to return to {place}",
                    "for the first time, the failures looked like lessons",
                    "{hero} stopped waiting to feel ready and began anyway",
                ),
                ("The Turning Point", "One Decision"),
                True,
            ),
            Beat(
                "lesson",
                "resolve",
                (
                    "progress in {subject} comes from showing up, not from feeling inspired",
                    "the {adj} habits mattered more than the big moments",
                    "{hero} learned that discipline is simply keeping a promise to yourself",
                    "every {noun} and every early morning added up",
                    "the gap between wishing and doing is one small step",
                ),
                ("The Lesson", "Small Steps Win"),
            ),
            Beat(
                "call_to_action",
                "triumph",
                (
                    "your own version of {subject} is waiting for you",
                    "set the {noun} where you will see it, and take the first step today",
                    "start small, start now, and keep the promise you make",
                    "the best time to begin was yesterday, and the next best time is now",
                    "one day you will look back at {place} and be glad you started",
                ),
                ("Your Turn", "Start Today"),
            ),
        ),
    ),
    "educational": Genre(
        names=("Professor Lane", "Ada", "Ravi", "Chloe", "Ben", "Noor"),
        nouns=(
            "atom",
            "cell",
            "planet",
            "map",
            "engine",
            "river",
            "volcano",
            "telescope",
            "crystal",
            "battery",
        ),
        adjectives=("tiny", "surprising", "common", "measurable", "invisible", "simple"),
        places=(
            "a school laboratory",
            "the ocean floor",
            "a busy city street",
            "the upper atmosphere",
            "an ordinary kitchen",
        ),
        hooks={
            "low": (
                "Take a calm moment to think about {subject}, closer to daily life than it seems.",
                "Here is a calm, simple look at {subject} and why it matters.",
            ),
            "medium": (
                "Most people use the idea of {subject} without really knowing how it works.",
                "There is a simple reason behind {subject}, and it is better than it looks.",
            ),
            "high": (
                "Did you know {subject} can be explained with one simple idea?",
                "Almost everything you were taught about {subject} leaves out the best part.",
            ),
            "extreme": (
                "You have this completely backwards!",
                "Ready to rethink everything?",
            ),
        },
        intros=(
            "{who} has spent years explaining {subject} to curious students",
            "{who} likes to start every lesson with a simple experiment",
            "{who} will be our guide through the main ideas",
        ),
        cameos=(
            "{name} points out a common mistake about the {noun}",
            "{name} suggests trying this at home near {place}",
            "{name} asks the question most people are too shy to ask",
        ),
        fragments=(
            "Here is why.",
            "Simple, right?",
            "Now look closer.",
            "That is the key.",
            "Remember this.",
        ),
        tails=(
            "which scientists have measured again and again",
            "and you can see the same idea in everyday life",
            "according to the best evidence we have today",
            "a pattern that shows up in surprising places",
        ),
        arc=(
            Beat(
                "question",
                "curiosity",
                (
                    "the big question is how {subject} actually works",
                    "{hero} begins with a {noun} and a simple question",
                    "people have wondered about {subject} for centuries",
                    "at first glance, the {noun} seems to have nothing to do with it",
                    "to understand {subject}, we need to start small",
                ),
                ("The Big Question", "Why It Matters"),
            ),
            Beat(
                "facts",
                "focus",
                (
                    "the first fact is that a {adj} change can have a large effect",
                    "{subject} follows rules that we can measure and test",
                    "every {noun} involved obeys the same basic principles",
                    "{hero} explains that energy is never created from nothing",
                    "scientists studied the {noun} and the {noun2} to find the pattern",
                ),
                ("The Key Facts", "How It Works"),
            ),
            Beat(
                "example",
                "wonder",
                (
                    "imagine a {noun} sitting in {place}",
                    "the same process behind {subject} happens inside every {noun}",
                    "{hero} shows how a {adj} {noun2} reveals the whole idea",
                    "this example makes the abstract rule suddenly visible",
                    "once you see it in {place}, you start noticing it everywhere",
                ),
                ("A Real Example", "See It in Action"),
                True,
            ),
            Beat(
                "takeaway",
                "clarity",
                (
                    "the takeaway is that {subject} is simpler than it first appears",
                    "remember the {noun} the next time this idea comes up",
                    "{hero} sums it up in one line: small causes, big effects",
                    "now you can explain {subject} to someone else",
                    "the best way to learn more is to ask the next question",
                ),
                ("The Takeaway", "Now You Know"),
            ),
        ),
    ),
    "comedy": Genre(
        names=("Gary", "Penny", "Doug", "Trish", "Stan", "Bev"),
        nouns=(
            "toaster",
            "goose",
            "sandwich",
            "umbrella",
            "sock",
            "printer",
            "cake",
            "ladder",
            "scooter",
            "banana",
        ),
        adjectives=("suspicious", "enormous", "sticky", "wobbly", "slightly damp", "overconfident"),
        places=(
            "the office kitchen",
            "the neighbor's garden",
            "the supermarket",
            "the wedding reception",
            "the tiny elevator",
        ),
        hooks={
            "low": (
                "It was a perfectly normal Tuesday, and {subject} worried nobody at all.",
                "Nothing about the morning suggested that {subject} would become a legend.",
            ),
            "medium": (
                "Nobody planned for {subject}, least of all the goose.",
                "There are two kinds of people, and only one of them survives {subject}.",
            ),
            "high": (
                "How does one sandwich ruin {subject} for an entire town?",
                "Experts agree that {subject} should never involve a ladder.",
            ),
            "extreme": (
                "You will not believe this!",
                "Why is the goose wearing your hat?",
            ),
        },
        intros=(
            "{who} had a plan, and the plan was mostly snacks",
            "{who} claimed to be an expert in {subject}, based on one video",
            "{who} woke up that day feeling unusually confident",
        ),
        cameos=(
            "{name} insisted the {noun} was not a problem",
            "{name} showed up at {place} holding a {noun}",
            "{name} tried to help, which made it worse",
        ),
        fragments=(
            "Classic.",
            "Oops.",
            "Not ideal.",
            "Anyway.",
            "Nobody laughed. Then everyone did.",
        ),
        tails=(
            "which, in fairness, nobody saw coming",
            "as if the universe had a personal grudge",
            "while a small dog watched with open judgment",
            "and somehow it still was not the worst part",
        ),
        arc=(
            Beat(
                "normal",
                "cheerful",
                (
                    "the plan for {subject} looked flawless on a napkin",
                    "{hero} packed a {noun}, just in case",
                    "everyone at {place} was in a great mood",
                    "the {adj} {noun} sat quietly, minding its own business",
                    "for about nine minutes, everything went perfectly",
                ),
                ("A Great Plan", "What Could Go Wrong"),
            ),
            Beat(
                "mishap",
                "awkward",
                (
                    "the {noun} made a noise that nobody could explain",
                    "{hero} said the wrong name at exactly the wrong moment",
                    "a {adj} {noun2} appeared where the speech notes should have been",
                    "the first sign of trouble with {subject} was a loud squeak",
                    "someone at {place} started slowly backing away",
                ),
                ("Slight Problem", "The {Noun} Incident"),
            ),
            Beat(
                "chaos",
                "chaos",
                (
                    "the {noun} escaped and headed straight for {place}",
                    "{hero} chased the {adj} {noun} through three rooms and a fountain",
                    "the fire alarm joined in, as if on cue",
                    "{subject} was now trending, and not in a good way",
                    "somebody yelled about cake, and that made it worse",
                ),
                ("Total Chaos", "It Got Worse"),
                True,
            ),
            Beat(
                "punchline",
                "joy",
                (
                    "in the end, the {noun} got a standing ovation",
                    "{hero} decided {subject} had gone exactly as planned",
                    "the photos from {place} became the family favorite",
                    "they swore never to mention the {noun} again, then spoke of nothing else",
                    "next year, they are doing it all again, {noun} included",
                ),
                ("Happy Ending", "Nailed It"),
            ),
        ),
    ),
    "adventure": Genre(
        names=("Jake", "Lara", "Finn", "Zoe", "Marco", "Tess"),
        nouns=(
            "compass",
            "rope",
            "canyon",
            "raft",
            "jungle",
            "cliff",
            "backpack",
            "glacier",
            "bridge",
            "cave",
        ),
        adjectives=("steep", "roaring", "uncharted", "frozen", "narrow", "sunlit"),
        places=(
            "the mountain ridge",
            "the river delta",
            "the desert outpost",
            "the edge of the glacier",
            "the hidden valley",
        ),
        hooks={
            "low": (
                "The trail toward {subject} began at dawn, under a wide and peaceful sky.",
                "Every great journey starts with packing a bag, and {subject} was no different.",
            ),
            "medium": (
                "No map showed the path to {subject}, but the rumors did.",
                "The last expedition to {subject} left behind only a compass.",
            ),
            "high": (
                "Would you risk everything to reach {subject}?",
                "Only two people have ever reached {subject} and returned.",
            ),
            "extreme": (
                "Jump now, or never!",
                "Can you hold on?",
            ),
        },
        intros=(
            "{who} had dreamed about {subject} since childhood",
            "{who} checked the {noun} one last time before setting out",
            "{who} was the only one who knew the way past {place}",
        ),
        cameos=(
            "{name} tightened the {noun} and grinned",
            "{name} spotted the trail near {place}",
            "{name} laughed at the danger, mostly to stay brave",
        ),
        fragments=("Go!", "Almost there.", "Hold tight.", "No way back.", "Then, the summit."),
        tails=(
            "with the wind howling across the open land",
            "as the sun climbed over the far peaks",
            "miles from any road or rescue",
            "while the river thundered far below",
        ),
        arc=(
            Beat(
                "departure",
                "excitement",
                (
                    "the team gathered at {place} with heavy packs and light hearts",
                    "{hero} traced the route to {subject} with one finger",
                    "the {adj} {noun} ahead looked almost inviting",
                    "everyone was eager to be the first to see {subject}",
                    "{hero} tucked the {noun} into a pocket for luck",
                ),
                ("The Journey Begins", "Setting Out"),
            ),
            Beat(
                "obstacle",
                "tension",
                (
                    "the path vanished beneath a {adj} {noun}",
                    "a storm forced the team into a shallow {noun}",
                    "{hero} lost the {noun} and had to trust instinct",
                    "the way to {subject} grew harder with every mile",
                    "supplies ran low long before {place}",
                ),
                ("The Hard Road", "A Sudden Storm"),
            ),
            Beat(
                "peril",
                "peril",
                (
                    "the {noun} gave way just as {hero} stepped onto it",
                    "{hero} dangled above the {adj} {noun2}, holding on by one hand",
                    "the whole journey to {subject} came down to a single leap",
                    "the ground near {place} began to crack and slide",
                    "there was no time to think, only to move",
                ),
                ("On the Edge", "One Leap"),
                True,
            ),
            Beat(
                "triumph",
                "triumph",
                (
                    "at last, {subject} stood before them, bright and real",
                    "{hero} planted the flag at {place}",
                    "the view from the {noun} made every hardship worth it",
                    "the team shared a silent, exhausted smile",
                    "{hero} was already planning the next journey",
                ),
                ("We Made It", "The Summit"),
            ),
        ),
    ),
    "romance": Genre(
        names=("Emma", "Luca", "Clara", "Noah", "Sofia", "Daniel"),
        nouns=(
            "letter",
            "umbrella",
            "ticket",
            "rose",
            "scarf",
            "postcard",
            "photograph",
            "novel",
            "ring",
            "notebook",
        ),
        adjectives=("warm", "gentle", "rainy", "golden", "shy", "quiet"),
        places=(
            "the corner cafe",
            "the train station",
            "the park by the river",
            "the old bookstore",
            "the rooftop garden",
        ),
        hooks={
            "low": (
                "On a soft spring afternoon, with the city moving slowly, {subject} quietly began.",
                "Some stories start with fireworks, but {subject} started with a cup of coffee.",
            ),
            "medium": (
                "Neither of them knew that {subject} would change both their lives.",
                "It took one wrong train and one borrowed umbrella to start {subject}.",
            ),
            "high": (
                "What if the love of your life was the stranger in {subject}?",
                "They met three times by accident before {subject} made sense.",
            ),
            "extreme": (
                "Do not let them leave!",
                "Will you say it now?",
            ),
        },
        intros=(
            "{who} noticed the stranger at {place} right away",
            "{who} had stopped believing in {subject}",
            "{who} was carrying a {noun} that afternoon, almost by chance",
        ),
        cameos=(
            "{name} smiled across the room",
            "{name} waited by {place} a little longer than needed",
            "{name} left a note tucked beside the {noun}",
        ),
        fragments=("A glance.", "Then a smile.", "Too late?", "Not yet.", "Finally."),
        tails=(
            "while the streetlights flickered on one by one",
            "as the rain softened into a gentle mist",
            "in the kind of silence that says everything",
            "under a sky turning slowly to gold",
        ),
        arc=(
            Beat(
                "meeting",
                "warmth",
                (
                    "their first conversation at {place} lasted for hours",
                    "{hero} laughed at a joke about the {noun}",
                    "the {adj} evening felt like the start of {subject}",
                    "two strangers reached for the same {noun} at the same moment",
                    "neither of them wanted the evening to end",
                ),
                ("First Meeting", "A Chance Encounter"),
            ),
            Beat(
                "spark",
                "joy",
                (
                    "every small detail about {subject} seemed to fit",
                    "{hero} kept the {noun} from that first evening",
                    "the walks by {place} became a weekly habit",
                    "a {adj} glance said more than any words could",
                    "for the first time in years, {hero} felt completely at ease",
                ),
                ("The Spark", "Falling Slowly"),
            ),
            Beat(
                "obstacle",
                "heartache",
                (
                    "a job offer pulled them toward different cities",
                    "{hero} left the last message unanswered for too long",
                    "the silence after the argument hurt more than the words",
                    "the future of {subject} suddenly felt uncertain",
                    "{place} felt empty without the other one there",
                ),
                ("Drifting Apart", "A Hard Goodbye"),
            ),
            Beat(
                "gesture",
                "hope",
                (
                    "{hero} ran through the rain toward {place}",
                    "a {adj} letter arrived with one honest sentence",
                    "the whole meaning of {subject} came down to one brave moment",
                    "{hero} finally said what had been true all along",
                    "the train doors were closing, and then they opened again",
                ),
                ("The Grand Gesture", "Say It Now"),
                True,
            ),
            Beat(
                "together",
                "joy",
                (
                    "they returned to {place}, this time together",
                    "{hero} still keeps the {noun} on the shelf",
                    "{subject} turned out to be the beginning, not the end",
                    "some stories do not need more words than this",
                    "years later, they still laugh about that {adj} afternoon",
                ),
                ("Together Again", "Happily Ever After"),
            ),
        ),
    ),
    "history": Genre(
        names=("Eleanor", "Thomas", "Margaret", "William", "Agnes", "Henry"),
        nouns=(
            "treaty",
            "empire",
            "ship",
            "cathedral",
            "manuscript",
            "coin",
            "fortress",
            "harbor",
            "market",
            "banner",
        ),
        adjectives=("ancient", "bustling", "fragile", "powerful", "forgotten", "royal"),
        places=(
            "the capital",
            "the northern frontier",
            "the great river port",
            "the royal court",
            "the old trade road",
        ),
        hooks={
            "low": (
                "Centuries ago, in a world of candles and slow roads, {subject} took shape.",
                "To understand {subject}, we need to travel back to a quieter age.",
            ),
            "medium": (
                "The textbooks rarely mention the strangest part of {subject}.",
                "A single letter, long forgotten, changes how we see {subject}.",
            ),
            "high": (
                "What if {subject} had turned out the other way?",
                "One small mistake shaped {subject} for a thousand years.",
            ),
            "extreme": (
                "You were never told this!",
                "Could you have survived it?",
            ),
        },
        intros=(
            "{who} was a witness to the early days of {subject}",
            "{who} kept a diary that historians still read today",
            "{who} served near {place} during those uncertain years",
        ),
        cameos=(
            "{name} signed the {noun} with a trembling hand",
            "{name} carried news from {place}",
            "{name} warned that the peace would not last",
        ),
        fragments=(
            "Then came war.",
            "The world changed.",
            "History turned.",
            "Few survived.",
            "It was over.",
        ),
        tails=(
            "as recorded in letters that survive to this day",
            "in an age when news traveled only as fast as a horse",
            "while ordinary people simply tried to get by",
            "long before anyone understood what it would mean",
        ),
        arc=(
            Beat(
                "setting",
                "calm",
                (
                    "life near {place} followed the rhythm of the seasons",
                    "the {adj} {noun} stood at the heart of everyday life",
                    "few people then could imagine how {subject} would unfold",
                    "{hero} described the markets as loud, crowded and hopeful",
                    "trade along the river brought the {noun} and new ideas",
                ),
                ("A Different World", "Before the Storm"),
            ),
            Beat(
                "rising_conflict",
                "tension",
                (
                    "tensions over the {noun} grew year after year",
                    "{hero} wrote that the mood in {place} had turned sour",
                    "rival powers began to circle {subject}",
                    "a {adj} alliance collapsed almost overnight",
                    "rumors spread faster than any official word",
                ),
                ("Rising Tensions", "The Gathering Storm"),
            ),
            Beat(
                "turning_point",
                "turmoil",
                (
                    "everything changed in a single season at {place}",
                    "the fall of the {noun} sent shockwaves across the land",
                    "{hero} watched as {subject} reached its breaking point",
                    "the {adj} {noun2} that had stood for generations was gone",
                    "decisions made in those weeks would echo for centuries",
                ),
                ("The Turning Point", "Everything Changed"),
                True,
            ),
            Beat(
                "legacy",
                "reflection",
                (
                    "today, the story of {subject} lives on in stone and paper",
                    "{hero} lived long enough to see a very different world",
                    "historians still argue about what {subject} really meant",
                    "the {noun} now rests in a museum, quiet and small",
                    "the echoes of {place} can still be heard in our own time",
                ),
                ("The Legacy", "What Remains"),
            ),
        ),
    ),
}
