use bihuan_smart::classify::{train, Options};
use bihuan_smart::text::{normalise, Tokenizer};
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let mut r = std::fs::read_to_string(path).unwrap();
    r = r.replace('\r', "");
    let rows: Vec<(String, String)> = r
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(','))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let tok = Tokenizer::default();
    let m = train(&tok, &rows, &Options::default()).unwrap();
    for round in 0..3 {
        let t = std::time::Instant::now();
        let mut n = 0;
        for r in &rows {
            n += tok.words(&normalise(&r.1)).len();
        }
        let a = rows.len() as f64 / t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        for r in &rows {
            n += m.best(&tok, &r.1).len();
        }
        let b = rows.len() as f64 / t.elapsed().as_secs_f64();
        println!(
            "round {round}: jieba {a:.0}/s  classify {b:.0}/s  ratio {:.2} ({n})",
            b / a
        );
    }
}
