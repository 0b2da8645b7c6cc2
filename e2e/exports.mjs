// WhatsApp exports the journeys bring in, made here (deterministic: a seeded generator), so
// the charts have months, hours and moods to show, and a question has one right answer.

const PEOPLE = {
  Ana: ["the trail was muddy but the view from the ridge was amazing", "my hiking boots finally broke in",
    "shall we try the lake trail on Saturday", "I packed the map and the compass", "what a terrible climb, my knees hate me",
    "the summit hut serves the best soup", "fog on the pass again, we turned back", "new route along the river, so peaceful"],
  Ben: ["the train tickets are booked for Friday", "the station was packed this morning, awful",
    "platform 4, the train leaves at nine", "I love the night train, best way to travel", "tickets are on my phone",
    "the connection in Lyon is only twelve minutes", "delayed again, forty minutes at the station", "sleeper cabins are sold out, annoying"],
  "Chloé": ["I made the pasta recipe from grandma, so good", "dinner at mine on Sunday",
    "the risotto burnt, what a disaster", "bring dessert please, I will cook the pasta", "new recipe: lemon tart, delicious",
    "the market had fresh basil and tomatoes", "the oven broke, no baking this week", "I found a lovely little bakery near work"],
};
const OPENERS = ["", "", "", "honestly, ", "so ", "guess what: ", "by the way, ", "ok so "];
const ENDINGS = ["", "", "!", " :)", " haha", "...", ", what do you think?", " again"];
const REPLIES = ["ok!", "sounds great", "haha yes", "sure, see you then", "oh no, sorry to hear that", "perfect, thanks",
  "really?", "love that", "ugh, not again", "count me in"];
export const KEY_FACT = "The spare key is under the blue flowerpot by the back door";

/** A seeded pseudo-random generator (a linear congruential one): the same export every run. */
function random(seed) {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
}

const two = (n) => String(n).padStart(2, "0");

/** 400 messages among three people from January to June 2024, dates day/month/year. */
export function chatExport(count = 400) {
  const next = random(42);
  const names = Object.keys(PEOPLE);
  const lines = [];
  let time = Date.UTC(2024, 0, 1, 8, 0);
  let previous = null;
  for (let i = 0; i < count; i++) {
    time += next() < 0.15 ? (12 + next() * 60) * 3600e3 : (1 + next() * 40) * 60e3;
    const when = new Date(time);
    const sender = i === 150 ? "Ben" : names[Math.floor(next() * names.length)];
    const pick = (list) => list[Math.floor(next() * list.length)];
    let text = i === 150 ? KEY_FACT : pick(OPENERS) + pick(PEOPLE[sender]) + pick(ENDINGS);
    if (i !== 150 && sender !== previous && next() < 0.3) text = pick(REPLIES);
    previous = sender;
    lines.push(`${two(when.getUTCDate())}/${two(when.getUTCMonth() + 1)}/${when.getUTCFullYear()}, `
      + `${two(when.getUTCHours())}:${two(when.getUTCMinutes())} - ${sender}: ${text}`);
  }
  return lines.join("\n") + "\n";
}

/** Four messages of one day whose date reads as well day first (3 April) as month first (4 March). */
export function ambiguousExport() {
  return ["03/04/2024, 09:00 - Ann: first", "03/04/2024, 09:05 - Bob: second",
    "03/04/2024, 10:00 - Ann: third", "03/04/2024, 11:00 - Bob: fourth"].join("\n") + "\n";
}
