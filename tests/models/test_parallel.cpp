// Translation data: the reversible tokeniser, the aligned-file loader and its errors,
// and the real Bible corpus that scripts/get-data builds (data/bible-en-es).
#include <filesystem>
#include <fstream>
#include <set>

#include "models/data/parallel.hpp"
#include "tests/support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::models::data;
namespace fs = std::filesystem;

namespace {
fs::path write_file(const std::string& name, const std::string& text) {
    const fs::path dir = fs::temp_directory_path() / ("tapegrad_parallel_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary) << text;
    return dir / name;
}
}  // namespace

TEST_CASE("tokenize: punctuation becomes tokens, case is kept, apostrophes and hyphens inside words stay") {
    CHECK(tokenize("God said, “Let there be light,” and there was light.") ==
          Tokens{"God", "said", ",", "“", "Let", "there", "be", "light", ",", "”", "and", "there", "was", "light", "."});
    CHECK(tokenize("¿Con qué limpiará el joven su camino? ¡OH Jehová!") ==
          Tokens{"¿", "Con", "qué", "limpiará", "el", "joven", "su", "camino", "?", "¡", "OH", "Jehová", "!"});
    CHECK(tokenize("God’s house, my fathers’ house: Beth-el—the gate") ==
          Tokens{"God’s", "house", ",", "my", "fathers", "’", "house", ":", "Beth-el", "—", "the", "gate"});
    CHECK(tokenize("  (ALEPH)\tend.\u00a0") == Tokens{"(", "ALEPH", ")", "end", "."});
    CHECK(tokenize("") == Tokens{});
    CHECK(tokenize("-x y- 'z'") == Tokens{"-", "x", "y", "-", "'", "z", "'"});
}

TEST_CASE("detokenize: closing marks attach left, opening marks right, dashes both ways, straight quotes pair up") {
    CHECK(detokenize({"God", "said", ",", "“", "Let", "there", "be", "light", ",", "”", "and", "there", "was", "light", "."}) ==
          "God said, “Let there be light,” and there was light.");
    CHECK(detokenize({"¿", "Con", "qué", "?", "¡", "Oh", "Jehová", "!"}) == "¿Con qué? ¡Oh Jehová!");
    CHECK(detokenize({"fathers", "’", "house", "(", "Beth-el", "—", "the", "gate", ")", ";", "x", "/", "y"}) ==
          "fathers’ house (Beth-el—the gate); x/y");
    CHECK(detokenize({"He", "said", ",", "\"", "go", "\"", "and", "'", "stay", "'", "."}) == "He said, \"go\" and 'stay'.");
    CHECK(detokenize({}) == "");
    CHECK(detokenize({",", "a"}) == ", a");
}

TEST_CASE("detokenize undoes tokenize on text that follows the conventions") {
    for (const std::string s : {"In the beginning, God created the heavens and the earth.",
                                "Y dijo Dios: Sea la luz: y fué la luz.",
                                "“MENE, MENE, TEKEL, UPHARSIN.’ (Daniel)",
                                "¡Oh Jehová, cuánto se han multiplicado mis enemigos! muchos se levantan contra mí."})
        CHECK(detokenize(tokenize(s)) == s);
    // A known limit: punctuation inside numbers comes back spaced (the Bible corpus has no digits).
    CHECK(detokenize(tokenize("John 3:16")) == "John 3: 16");
}

TEST_CASE("read_parallel: aligned files load; misaligned, blank-lined and missing files are refused by name") {
    const auto en = write_file("ok.en", "In the beginning.\nGod said.\n");
    const auto es = write_file("ok.es", "En el principio.\r\nY dijo Dios.\r\n");
    const ParallelCorpus c = read_parallel(en, es);
    REQUIRE(c.size() == 2);
    CHECK(c.source[1] == "God said.");
    CHECK(c.target[1] == "Y dijo Dios.");

    const auto short_es = write_file("short.es", "En el principio.\n");
    CHECK_THROWS_WITH_AS(read_parallel(en, short_es),
                         doctest::Contains(("ok.en has 2 lines but " + short_es.string() + " has 1: the files are not aligned").c_str()),
                         Error);
    const auto blank = write_file("blank.es", "En el principio.\n  \n");
    CHECK_THROWS_WITH_AS(read_parallel(en, blank), doctest::Contains("blank.es:2: empty line"), Error);
    CHECK_THROWS_WITH_AS(read_parallel(en, write_file("latin1.es", "En el principio.\nY dijo Dios \xe9.\n")),
                         doctest::Contains("latin1.es:2: byte 0xe9 at column 13 is not valid UTF-8"), Error);
    CHECK_THROWS_WITH_AS(read_parallel(en, en.string() + ".missing"), doctest::Contains("ok.en.missing: cannot open"), Error);
    CHECK_THROWS_WITH_AS(read_parallel_split(en.parent_path().string(), "dev"),
                         doctest::Contains("split 'dev' is not train, valid or test"), Error);
}

// The corpus itself (scripts/get-data bible; scripts/test runs get-data first).
TEST_CASE("the Bible corpus: three aligned splits of whole books, and tokenize/detokenize are exact on every verse") {
    const std::string dir = TAPEGRAD_SOURCE_DATA "/bible-en-es";
    REQUIRE_MESSAGE(fs::exists(dir + "/test.es"), dir, " is missing: run scripts/get-data bible");
    std::set<std::string> books_seen;
    for (const std::string split : {"train", "valid", "test"}) {
        const ParallelCorpus c = read_parallel_split(dir, split);
        CHECK_MESSAGE(c.size() > (split == "train" ? 20000u : 1500u), split, ": ", c.size(), " verses");
        // Every verse's line names its verse; the split's books appear in no other split.
        const auto refs = read_lines(dir + "/" + split + ".ref");
        REQUIRE(refs.size() == c.size());
        std::set<std::string> books;
        for (const auto& r : refs) books.insert(r.substr(0, r.rfind(' ')));
        for (const auto& b : books) CHECK_MESSAGE(books_seen.insert(b).second, b, " is in two splits");
        std::size_t mismatched = 0;
        std::string first;
        for (const auto* side : {&c.source, &c.target})
            for (const std::string& line : *side)
                if (detokenize(tokenize(line)) != line && mismatched++ == 0) first = line;
        CHECK_MESSAGE(mismatched == 0, split, ": ", mismatched, " lines do not survive tokenize+detokenize, e.g. ", first);
    }
    CHECK(books_seen.size() == 66);
}

TEST_CASE("ParallelDataset: a batch holds the source sentences for the encoder and the target ones for the decoder") {
    const std::vector<Tokens> en = {{"In", "the", "beginning"}, {"Jesus", "wept", "."}, {"Amen"}};
    const std::vector<Tokens> es = {{"En", "el", "principio"}, {"Jesús", "lloró", "."}, {"Amén", "."}};
    const Vocabulary ven = Vocabulary::build(en, 1), ves = Vocabulary::build(es, 1);
    const ParallelDataset set(SentenceDataset(en, ven, 10), SentenceDataset(es, ves, 10));
    REQUIRE(set.size() == 3);
    CHECK(set.items(2) == 3);  // "Amén" "." </s>
    CHECK(set.item_name() == "tokens");
    CHECK(set.describe() == "3 sentence pairs, 10 source and 11 target tokens");
    const Batch b = set.batch({2, 0});
    CHECK(b.rows == std::vector<std::size_t>{2, 0});
    CHECK(b.source.lengths == std::vector<std::size_t>{2, 4});
    CHECK(b.text.lengths == std::vector<std::size_t>{3, 4});
    CHECK(ven.decode({b.source.targets(1, 0), b.source.targets(1, 1), b.source.targets(1, 2)}) == "In the beginning");
    CHECK(b.source.targets(0, 1) == Vocabulary::eos);
    CHECK(b.text.inputs(0, 0) == Vocabulary::sos);
    CHECK(ves.decode({b.text.targets(0, 0), b.text.targets(0, 1), b.text.targets(0, 2)}) == "Amén .");
    // Plans cover every pair once.
    std::multiset<std::size_t> seen;
    for (const auto& batch : set.plan(2, true, 5)) seen.insert(batch.begin(), batch.end());
    CHECK(seen == std::multiset<std::size_t>{0, 1, 2});
    CHECK_THROWS_WITH_AS(ParallelDataset(SentenceDataset(en, ven, 10), SentenceDataset({es[0]}, ves, 10)),
                         "ParallelDataset: 3 source sentences but 1 target sentences", Error);
}
