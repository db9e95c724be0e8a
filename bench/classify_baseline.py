"""Baseline for `bihuan eval classify`: TF-IDF over jieba words + linear SVM (scikit-learn's
LinearSVC with its defaults), on the folds bihuan chose, so both are scored on the same splits.

usage: python classify_baseline.py LABELLED.csv FOLDS.txt
FOLDS.txt has one fold number per data row. Prints one JSON object.
Needs: pip install scikit-learn jieba
"""
import csv
import json
import sys
import time

import jieba
import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.svm import LinearSVC

jieba.setLogLevel(60)
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8")))[1:]
folds = [int(x) for x in open(sys.argv[2]).read().split()]
assert len(folds) == len(rows), "fold file does not match the data"
labels = np.array([r[0] for r in rows])
t0 = time.perf_counter()
texts = [" ".join(jieba.lcut(r[1])) for r in rows]
cut_s = time.perf_counter() - t0
k = max(folds) + 1
accs, f1s, train_s, classify_s, n_classified = [], [], 0.0, 0.0, 0
for f in range(k):
    tr = [i for i in range(len(rows)) if folds[i] != f]
    te = [i for i in range(len(rows)) if folds[i] == f]
    t = time.perf_counter()
    vec = TfidfVectorizer(token_pattern=r"(?u)\S+")
    svm = LinearSVC().fit(vec.fit_transform([texts[i] for i in tr]), labels[tr])
    train_s += time.perf_counter() - t
    t = time.perf_counter()
    pred = svm.predict(vec.transform([texts[i] for i in te]))
    classify_s += time.perf_counter() - t
    n_classified += len(te)
    accs.append(accuracy_score(labels[te], pred))
    f1s.append(f1_score(labels[te], pred, average="macro"))
print(json.dumps({
    "sklearn": sklearn.__version__,
    "accuracy": float(np.mean(accs)),
    "macro_f1": float(np.mean(f1s)),
    "train_s": train_s / k,
    # batch prediction, tokenising excluded (jieba ran once over all rows beforehand)
    "per_second_batch_no_tokenising": n_classified / classify_s,
    "jieba_cut_s_all_rows": cut_s,
}))
