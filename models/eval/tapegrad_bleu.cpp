// tapegrad-bleu: corpus BLEU and chrF of a translation against its reference, both
// files one sentence per line, detokenised (as sacreBLEU expects):
//   build/tapegrad-bleu data/bible-en-es/test.es hypotheses.es
// prints sacreBLEU-style signatures and scores (models/eval/bleu.hpp, chrf.hpp):
//   BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|impl:tapegrad = 26.62 58.1/32.1/20.0/12.7 (BP = ...)
//   chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|impl:tapegrad = 55.12
// --detok first re-spaces each hypothesis with the project's detokeniser,
// detokenize(tokenize(line)) (models/data/parallel.hpp): the spacing a model's output
// gets, for systems such as Apertium that leave "“ Dios" or "personas ,".
// --paired-bootstrap OTHER_HYP_FILE also compares HYP_FILE (A) with a second system's
// translations (B) by paired bootstrap resampling (models/eval/bootstrap.hpp).
#include <CLI/CLI.hpp>

#include <iostream>

#include "autograd/array.hpp"
#include "models/data/parallel.hpp"
#include "models/data/text.hpp"
#include "models/eval/bleu.hpp"
#include "models/eval/bootstrap.hpp"
#include "models/eval/chrf.hpp"

using namespace tapegrad;

int main(int argc, char** argv) {
    CLI::App app{"Corpus BLEU and chrF (sacreBLEU 2.x defaults) of HYP_FILE against REF_FILE, one sentence a line"};
    std::string ref_path, hyp_path;
    app.add_option("REF_FILE", ref_path, "the references, detokenised")->required();
    app.add_option("HYP_FILE", hyp_path, "the translations, detokenised, line i translating the source of line i")
        ->required();
    bool detok = false;
    app.add_flag("--detok", detok, "re-space each translation with detokenize(tokenize(line)) before scoring");
    std::string other_path;
    std::size_t resamples = 1000;
    CLI::Option* paired = app.add_option("--paired-bootstrap", other_path,
                   "a second system's translations (B) of the same sources: how often B's BLEU beats HYP_FILE's (A) "
                   "over paired resamples of the sentences");
    app.add_option("--resamples", resamples, "resamples of --paired-bootstrap")
        ->check(CLI::PositiveNumber)->needs(paired)->capture_default_str();
    std::uint64_t seed = 1;
    app.add_option("--seed", seed, "seed of --paired-bootstrap's draws")->needs(paired)->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    try {
        const auto refs = models::data::read_lines(ref_path);
        auto read_translations = [&](const std::string& path) {
            auto lines = models::data::read_lines(path);
            if (detok)
                for (auto& h : lines) h = models::data::detokenize(models::data::tokenize(h));
            if (refs.size() != lines.size())
                throw Error(ref_path + " has " + std::to_string(refs.size()) + " lines but " + path + " has " +
                            std::to_string(lines.size()) + ": one translation per reference line is needed");
            return lines;
        };
        const auto hyps = read_translations(hyp_path);
        std::cout << models::eval::corpus_bleu(hyps, refs).format() << "\n"
                  << models::eval::corpus_chrf(hyps, refs).format() << "\n";
        if (!other_path.empty())
            std::cout << models::eval::paired_bootstrap_bleu(hyps, read_translations(other_path), refs, resamples, seed).format()
                      << "\n";
    } catch (const Error& e) {
        std::cerr << "tapegrad-bleu: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
