use super::*;

/// The same text in many scripts and registers: prose, code, JSON, numbers, emoji, URLs.
const BASES: [&str; 20] = [
    "The quick brown fox jumps over the lazy dog. It wasn't the fox's first time, and it won't be the last.",
    "Der schnelle braune Fuchs springt über den faulen Hund. Größenordnungen ändern sich täglich.",
    "Le renard brun rapide saute par-dessus le chien paresseux. C'est l'été, n'est-ce pas ?",
    "El rápido zorro marrón salta sobre el perro perezoso. ¿Dónde está la biblioteca? ¡Allí!",
    "Быстрая коричневая лиса прыгает через ленивую собаку. Съешь ещё этих мягких французских булок.",
    "敏捷的棕色狐狸跳过了懒狗。我们今天去图书馆学习机器学习和自然语言处理。",
    "素早い茶色の狐がのろまな犬を飛び越えた。東京は今日も晴れです、カタカナとひらがな。",
    "빠른 갈색 여우가 게으른 개를 뛰어넘었다. 오늘 날씨가 정말 좋네요.",
    "الثعلب البني السريع يقفز فوق الكلب الكسول. مرحبا بالعالم، كيف حالك اليوم؟",
    "तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूद गई। आज मौसम बहुत अच्छा है।",
    "השועל החום המהיר קופץ מעל הכלב העצלן. שלום עולם, מה שלומך?",
    "Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο. Καλημέρα κόσμε!",
    "Hızlı kahverengi tilki tembel köpeğin üzerinden atlar. Günaydın dünya, nasılsın?",
    "Con cáo nâu nhanh nhẹn nhảy qua con chó lười. Xin chào thế giới, bạn khỏe không?",
    "สุนัขจิ้งจอกสีน้ำตาลกระโดดข้ามสุนัขขี้เกียจ สวัสดีชาวโลก",
    "fn main() {\n    let xs: Vec<u64> = (0..10).map(|x| x * x).collect();\n    println!(\"{:?}\", xs);\n}\n",
    "def handler(event, context):\n    if not event.get('body'):\n        return {'statusCode': 400}\n    return json.loads(event['body'])\n",
    "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":128,\"temperature\":0.2}",
    "Order #12345 shipped on 2026-12-01 at 16:07:09 UTC; total $1,234.56 (3 items × 411.52). Call +1-555-0100.",
    "Great job 🎉🚀 — see https://example.com/docs/v1/getting-started?lang=en#install and ✅ done!! 👍🏽👨‍👩‍👧",
];

/// 200 samples: each base at ten lengths (1–37 copies, joined by varied whitespace), so most
/// are longer than a segment and exercise the cuts.
fn corpus() -> Vec<String> {
    let joins = [" ", "\n", "\n\n", "  ", "\t", " \n ", "\r\n", "   ", "\n\n\n", " "];
    let mut out = Vec::new();
    for base in BASES {
        for (k, join) in joins.iter().enumerate() {
            let copies = k.saturating_mul(4).saturating_add(1);
            out.push(vec![base; copies].join(join));
        }
    }
    out
}

fn whole(encoding: Encoding, text: &str) -> u64 {
    encoding.bpe().unwrap().encode_ordinary(text).len() as u64
}

fn counted(encoding: Encoding, text: &str) -> u64 {
    let bpe = encoding.bpe();
    let mut c = Counter { bpe, encoded: 0, count: Count::default() };
    c.add(text);
    c.count().tokens
}

#[test]
fn known_counts() {
    assert_eq!(whole(Encoding::O200kBase, "hello world"), 2);
    assert_eq!(whole(Encoding::Cl100kBase, "hello world"), 2);
    assert_eq!(counted(Encoding::O200kBase, "hello world"), 2);
    assert_eq!(counted(Encoding::O200kBase, ""), 0);
}

#[test]
fn segmented_counts_match_tiktoken_on_a_multilingual_corpus() {
    let corpus = corpus();
    assert_eq!(corpus.len(), 200);
    for encoding in [Encoding::O200kBase, Encoding::Cl100kBase] {
        let (mut ours, mut theirs, mut exact) = (0u64, 0u64, 0usize);
        for (i, text) in corpus.iter().enumerate() {
            let (a, b) = (counted(encoding, text), whole(encoding, text));
            // Per sample within ±2 % (and a token), over the corpus within ±0.5 %.
            let tolerance = (b / 50).max(1);
            assert!(a.abs_diff(b) <= tolerance, "{encoding:?} sample {i}: {a} vs tiktoken {b}");
            ours += a;
            theirs += b;
            exact += usize::from(a == b);
        }
        assert!(ours.abs_diff(theirs) * 200 <= theirs, "{encoding:?}: {ours} vs {theirs}");
        assert!(exact >= 190, "{encoding:?}: only {exact} of 200 samples exact");
    }
}

#[test]
fn hostile_text_is_counted_quickly_and_never_panics() {
    let started = std::time::Instant::now();
    let cases = [
        " ".repeat(200_000) + "a",
        "A".repeat(300_000),
        "é".repeat(150_000),
        "\n".repeat(100_000) + &" \t".repeat(50_000),
        "🎉".repeat(60_000),
        "1".repeat(200_000),
        "'s".repeat(100_000),
    ];
    for text in &cases {
        let n = counted(Encoding::O200kBase, text);
        assert!(n > 0 && n <= text.len() as u64, "{n}");
    }
    // Beyond the encoded bound the rest is approximated and said so.
    let huge = "word ".repeat(MAX_ENCODED_BYTES / 5 + 1000);
    let mut c = Counter { bpe: Encoding::O200kBase.bpe(), encoded: 0, count: Count::default() };
    c.add(&huge);
    assert!(c.count().approximated);
    assert!(started.elapsed().as_secs() < 60, "took {:?}", started.elapsed());
}

#[test]
fn segments_cover_the_text_in_bounded_pieces() {
    for text in corpus().iter().chain([&"x".repeat(1000), &"é".repeat(700)]) {
        let pieces: Vec<&str> = segments(text).collect();
        assert_eq!(pieces.concat(), *text);
        assert!(pieces.iter().all(|p| p.len() <= SEGMENT && !p.is_empty()));
    }
}

#[test]
fn encodings_by_model() {
    assert_eq!(default_encoding("gpt-4o-mini"), Encoding::O200kBase);
    assert_eq!(default_encoding("gpt-4.1"), Encoding::O200kBase);
    assert_eq!(default_encoding("gpt-4-turbo"), Encoding::Cl100kBase);
    assert_eq!(default_encoding("gpt-4"), Encoding::Cl100kBase);
    assert_eq!(default_encoding("gpt-3.5-turbo"), Encoding::Cl100kBase);
    assert_eq!(default_encoding("text-embedding-3-small"), Encoding::Cl100kBase);
    assert_eq!(default_encoding("claude-sonnet-4"), Encoding::O200kBase);
    let t = Tokenizer::new(vec![EncodingRule { model: "claude-*".into(), encoding: Encoding::Cl100kBase }]);
    assert_eq!(t.encoding("claude-sonnet-4"), Encoding::Cl100kBase);
    assert_eq!(t.encoding("o3-mini"), Encoding::O200kBase);
}
