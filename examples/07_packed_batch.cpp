// 07_packed_batch: how a batch of sentences of different lengths is laid out for the
// recurrent layers. A real batch of Penn Treebank sentences, padded to [B, T] as the
// data loader makes it, then packed time-major by kernels::Packing, the layout the
// fused GRU and LSTM run on (as PyTorch's PackedSequence): sentences sorted by length,
// longest first; step t holds the rows of the sentences still running, and each step
// multiplies only those rows by W_hh. Padding is never computed.
// Run: build/examples/07_packed_batch [--data data/ptb] [--n 5] [--max-words 10] [--dot packing.dot]
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "autograd/kernels/rnn.hpp"
#include "models/data/text.hpp"

using namespace tapegrad;
using namespace tapegrad::models;

namespace {

const char* colours[] = {"#d6eaf8", "#d5f5e3", "#fdebd0", "#f5eef8", "#fadbd8", "#e8f8f5", "#fcf3cf", "#ebedef"};

std::string escape(const std::string& w) {  // for Graphviz HTML labels
    std::string s;
    for (char c : w) s += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
    return s;
}

// Left: the padded batch [B, T] (one row per sentence, pads grey). Right: the packed
// rows, one column per step, the sentences in sorted order; each cell says which
// packed row it is.
void write_dot(std::ostream& os, const data::TextBatch& b, const data::Vocabulary& vocab, const kernels::Packing& p) {
    const std::size_t B = b.size(), T = b.inputs.shape()[1];
    os << "digraph packing {\n  rankdir=TB;\n  node [shape=plaintext, fontname=\"monospace\", fontsize=10];\n";
    os << "  padded [label=<<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\" CELLPADDING=\"3\">"
       << "<TR><TD COLSPAN=\"" << T + 1 << "\"><B>padded batch [B, T] = [" << B << ", " << T
       << "]: decoder inputs, batch order</B></TD></TR><TR><TD></TD>";
    for (std::size_t t = 0; t < T; ++t) os << "<TD><I>t=" << t << "</I></TD>";
    os << "</TR>";
    for (std::size_t i = 0; i < B; ++i) {
        os << "<TR><TD><I>b=" << i << "</I> (" << b.lengths[i] << ")</TD>";
        for (std::size_t t = 0; t < T; ++t) {
            const bool real = t < b.lengths[i];
            os << "<TD BGCOLOR=\"" << (real ? colours[i % 8] : "#bbbbbb") << "\">"
               << (real ? escape(vocab.word(b.inputs(i, t))) : "<FONT COLOR=\"#777777\">pad</FONT>") << "</TD>";
        }
        os << "</TR>";
    }
    os << "</TABLE>>];\n";
    os << "  packed [label=<<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\" CELLPADDING=\"3\">"
       << "<TR><TD COLSPAN=\"" << p.steps() + 1 << "\"><B>packed, time-major: " << p.rows
       << " rows (no padding); step t runs rows offset[t] .. offset[t] + batch[t] - 1</B></TD></TR><TR><TD></TD>";
    for (std::size_t s = 0; s < p.steps(); ++s)
        os << "<TD><I>t=" << s << "</I><BR/>batch " << p.batch[s] << "<BR/>offset " << p.offset[s] << "</TD>";
    os << "</TR>";
    for (std::size_t r = 0; r < B; ++r) {
        const std::size_t i = p.order[r];
        os << "<TR><TD><I>b=" << i << "</I></TD>";
        for (std::size_t s = 0; s < p.steps(); ++s) {
            if (r < p.batch[s])
                os << "<TD BGCOLOR=\"" << colours[i % 8] << "\">" << escape(vocab.word(b.inputs(i, s)))
                   << "<BR/><FONT POINT-SIZE=\"8\">row " << p.offset[s] + r << "</FONT></TD>";
            else
                os << "<TD></TD>";
        }
        os << "</TR>";
    }
    os << "</TABLE>>];\n  padded -> packed [label=\"sort by length,\\nthen step by step\"];\n}\n";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"tapegrad example 07: a batch of sentences, padded and packed for the recurrent layers"};
    std::string data_dir = std::getenv("TAPEGRAD_DATA") ? std::string(std::getenv("TAPEGRAD_DATA")) + "/ptb" : "data/ptb";
    std::string dot_path;
    std::size_t n = 5, max_words = 10;
    app.add_option("--data", data_dir, "folder with ptb.train.txt (scripts/get-data)")->capture_default_str();
    app.add_option("--n", n, "sentences in the batch")->capture_default_str();
    app.add_option("--max-words", max_words, "take the first training sentences of at most this many words")->capture_default_str();
    app.add_option("--dot", dot_path, "also write the layout as Graphviz DOT to this file");
    CLI11_PARSE(app, argc, argv);

    try {
        const auto text = data::read_sentences(data_dir + "/ptb.train.txt");
        const data::Vocabulary vocab = data::Vocabulary::build(text, 2);
        const data::SentenceDataset sentences(text, vocab, 60);
        std::vector<std::size_t> rows;
        for (std::size_t i = 0; i < sentences.size() && rows.size() < n; ++i)
            if (sentences.length(i) - 1 <= max_words) rows.push_back(i);
        const data::TextBatch b = sentences.batch(rows);
        const std::size_t T = b.inputs.shape()[1];

        std::cout << "a batch of " << b.size() << " training sentences (the first of at most " << max_words
                  << " words), padded to T = " << T << "\n";
        for (std::size_t i = 0; i < b.size(); ++i) {
            std::cout << "  b=" << i << "  length " << std::setw(2) << b.lengths[i] << "  ";
            for (std::size_t t = 0; t < T; ++t)
                std::cout << (t ? " " : "") << (t < b.lengths[i] ? vocab.word(b.inputs(i, t)) : "_");
            std::cout << "\n";
        }
        const kernels::Packing p(b.lengths, T, false);
        std::cout << "sorted by length, longest first: order =";
        for (auto i : p.order) std::cout << " " << i;
        std::cout << "\npacked: " << p.rows << " rows instead of " << b.size() * T << " (" << b.size() * T - p.rows
                  << " pads never computed)\n";
        for (std::size_t s = 0; s < p.steps(); ++s) {
            std::cout << "  step " << std::setw(2) << s << ": batch " << p.batch[s] << ", rows " << std::setw(2) << p.offset[s]
                      << " .. " << std::setw(2) << p.offset[s] + p.batch[s] - 1 << ":";
            for (std::size_t r = 0; r < p.batch[s]; ++r) std::cout << "  b" << p.order[r] << " " << vocab.word(b.inputs(p.order[r], s));
            std::cout << "\n";
        }
        if (!dot_path.empty()) {
            std::ofstream dot(dot_path);
            write_dot(dot, b, vocab, p);
            std::cout << "(layout written to " << dot_path << ")\n";
        }
    } catch (const Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
