// Fuzzes the Penn Treebank loader: the bytes as a text file, read as a sentence file,
// then turned into a vocabulary, a dataset and padded batches as training does.
// A tapegrad::Error is the expected answer to bad input; anything else is a bug.
#include <cstddef>
#include <cstdint>

#include "fuzz/common.hpp"
#include "models/data/text.hpp"

using namespace tapegrad;
using namespace tapegrad::models::data;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static fuzz::ScratchFile file("ptb.txt");
    ReadOptions options;
    options.max_line_bytes = 256;  // small, so the fuzzer reaches the limit
    try {
        const std::vector<Tokens> sentences = read_sentences(file.write(data, size), options);
        const Vocabulary vocab = Vocabulary::build(sentences, 1);
        const SentenceDataset set(sentences, vocab, 8);
        for (const auto& rows : plan_batches(set, 4, true, size, true)) {
            const TextBatch b = set.batch(rows);
            for (std::size_t i = 0; i < b.size(); ++i) vocab.decode(set[b.rows[i]].target);
        }
    } catch (const Error& e) {
        fuzz::refused(e);
    }
    return 0;
}
