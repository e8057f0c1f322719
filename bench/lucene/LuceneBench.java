// Lucene 4.10's suggesters on the suite's data and queries (see bench/native.rs):
//
//   java -cp "target/bench/lucene-classes:$LUCENE_CP" LuceneBench OUT_DIR [--smoke]
//   (build.sh compiles it there; LUCENE_CP lists the jars of Debian's Lucene 4.10)
//
// Reads OUT_DIR/keys.tsv (normalized keys, weights that preserve edgesuggest's order) and
// OUT_DIR/queries.tsv (kind, length, query, exact top-10 keys), builds WFSTCompletionLookup,
// AnalyzingSuggester and FuzzySuggester (KeywordAnalyzer: the keys are already normalized, so
// every engine sees the same strings), warms the JVM, times every query on its own and writes
// OUT_DIR/lucene.json in the suite's format. Every suggester is built with exact-first on, as
// edgesuggest's default.
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.core.KeywordAnalyzer;
import org.apache.lucene.search.suggest.InputIterator;
import org.apache.lucene.search.suggest.Lookup;
import org.apache.lucene.search.suggest.analyzing.AnalyzingSuggester;
import org.apache.lucene.search.suggest.analyzing.FuzzySuggester;
import org.apache.lucene.search.suggest.fst.WFSTCompletionLookup;
import org.apache.lucene.util.BytesRef;

public class LuceneBench {
  record Query(String kind, int len, String text, List<String> expected) {}

  static List<String> keys = new ArrayList<>();
  static long[] weights;
  static List<Query> queries = new ArrayList<>();
  static int debugShown = 0;

  static class Input implements InputIterator {
    int i = -1;
    public BytesRef next() {
      i++;
      return i < keys.size() ? new BytesRef(keys.get(i)) : null;
    }
    public long weight() { return weights[i]; }
    public BytesRef payload() { return null; }
    public boolean hasPayloads() { return false; }
    public Set<BytesRef> contexts() { return null; }
    public boolean hasContexts() { return false; }
    public Comparator<BytesRef> getComparator() { return null; }
  }

  interface Factory { Lookup make(); }

  public static void main(String[] args) throws Exception {
    Path dir = Paths.get(args[0]);
    boolean smoke = Arrays.asList(args).contains("--smoke");
    int rounds = smoke ? 1 : 5;
    List<String> lines = Files.readAllLines(dir.resolve("keys.tsv"), StandardCharsets.UTF_8);
    weights = new long[lines.size()];
    boolean ascii = true;
    for (String line : lines) {
      int tab = line.lastIndexOf('\t');
      String key = line.substring(0, tab);
      weights[keys.size()] = Long.parseLong(line.substring(tab + 1));
      keys.add(key);
      for (int c = 0; c < key.length() && ascii; c++) ascii = key.charAt(c) < 128;
    }
    for (String line : Files.readAllLines(dir.resolve("queries.tsv"), StandardCharsets.UTF_8)) {
      String[] f = line.split("\t", -1);
      List<String> expected = f[3].isEmpty() ? List.of() : Arrays.asList(f[3].split("\u001f"));
      queries.add(new Query(f[0], Integer.parseInt(f[1]), f[2], expected));
    }
    // Counted in characters, not UTF-8 bytes, for non-ASCII data: the same rule as edgesuggest.
    final boolean unicodeAware = !ascii;
    Analyzer analyzer = new KeywordAnalyzer();
    int options = AnalyzingSuggester.EXACT_FIRST | AnalyzingSuggester.PRESERVE_SEP;
    List<String> results = new ArrayList<>();
    results.add(run("Lucene 4.10 WFSTCompletionLookup", () -> new WFSTCompletionLookup(true), false, rounds));
    results.add(run("Lucene 4.10 AnalyzingSuggester", () -> new AnalyzingSuggester(analyzer, analyzer,
        options, 256, -1, true), false, rounds));
    results.add(run("Lucene 4.10 FuzzySuggester (1 edit, prefix 1)", () -> new FuzzySuggester(analyzer, analyzer,
        options, 256, -1, true, 1, true, 1, 3, unicodeAware), true, rounds));
    Files.writeString(dir.resolve("lucene.json"), "[" + String.join(",", results) + "]");
    System.err.println("lucene: wrote " + dir.resolve("lucene.json"));
  }

  static String run(String name, Factory factory, boolean fuzzy, int rounds) throws Exception {
    System.gc();
    Runtime rt = Runtime.getRuntime();
    long before = rt.totalMemory() - rt.freeMemory();
    long t0 = System.nanoTime();
    Lookup lookup = factory.make();
    lookup.build(new Input());
    double buildS = (System.nanoTime() - t0) / 1e9;
    System.gc();
    long retained = rt.totalMemory() - rt.freeMemory() - before;
    ByteArrayOutputStream stored = new ByteArrayOutputStream();
    lookup.store(stored);
    String kind = fuzzy ? "fuzzy" : "prefix";
    List<Query> mine = new ArrayList<>();
    for (Query q : queries) if (q.kind.equals(kind)) mine.add(q);
    // Warm the JVM: JIT-compile the lookup path before timing.
    for (int w = 0; w < 3; w++) for (Query q : mine) lookup.lookup(q.text, false, 10);
    Map<Integer, List<Double>> times = new TreeMap<>();
    for (int r = 0; r < rounds; r++) {
      for (Query q : mine) {
        long t = System.nanoTime();
        lookup.lookup(q.text, false, 10);
        times.computeIfAbsent(q.len, k -> new ArrayList<>()).add((System.nanoTime() - t) / 1e3);
      }
    }
    long hit = 0, total = 0;
    for (Query q : mine) {
      Set<String> got = new HashSet<>();
      for (Lookup.LookupResult res : lookup.lookup(q.text, false, 10)) { got.add(res.key.toString()); if (debugShown < 2 && System.getenv("LUCENE_BENCH_DEBUG") != null) System.err.println("  " + res.key + " " + res.value); }
      total += q.expected.size();
      for (String k : q.expected) if (got.contains(k)) hit++;
      if (System.getenv("LUCENE_BENCH_DEBUG") != null && !got.containsAll(q.expected) && (debugShown++ < 5)) {
        System.err.println(name + " " + q.text + " want " + q.expected + " got " + got);
      }
    }
    double overlap = total == 0 ? 1.0 : (double) hit / total;
    StringBuilder lat = new StringBuilder("{");
    for (Map.Entry<Integer, List<Double>> e : times.entrySet()) {
      double[] v = e.getValue().stream().mapToDouble(Double::doubleValue).sorted().toArray();
      if (lat.length() > 1) lat.append(',');
      lat.append(String.format(Locale.ROOT, "\"%d\":{\"median_us\":%.3f,\"p99_us\":%.3f}", e.getKey(),
          v[(int) Math.round((v.length - 1) * 0.5)], v[(int) Math.round((v.length - 1) * 0.99)]));
    }
    lat.append('}');
    System.err.printf(Locale.ROOT, "lucene: %s built in %.2f s, overlap %.3f%n", name, buildS, overlap);
    return String.format(Locale.ROOT,
        "{\"engine\":\"%s\",\"build_s\":%.3f,\"index_bytes\":%d,\"retained_heap_bytes\":%d,\"%s\":%s,"
            + "\"%s\":%.4f,\"notes\":\"JVM warmed (3 passes) before timing; index bytes = Lookup.store()\"}",
        name, buildS, stored.size(), retained, fuzzy ? "fuzzy" : "latency", lat,
        fuzzy ? "fuzzy_overlap" : "overlap", overlap);
  }
}
