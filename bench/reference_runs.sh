#!/bin/bash
# usage: bench/reference_runs.sh <checkout> <out_dir>  -- the issue-19 bit-identity runs
# Runs the four commands whose results.json metrics/history must stay bit-identical across a
# refactor (issue 19): run it on a checkout before and after, and compare metrics and history.
# PYTHON: the interpreter with tfrankcf installed (default: python).
set -e
CO=$1; OUT=$2; PY=${PYTHON:-python}
mkdir -p $OUT; cd $CO
export TFRANKCF_DATA=$OUT/data
$PY -m binaries.train_baseline --method=ease --output_dir=$OUT/ease > $OUT/ease.log 2>&1
$PY -m binaries.train_baseline --method=vae --protocol=strong --epochs=3 --output_dir=$OUT/vae > $OUT/vae.log 2>&1
$PY -m binaries.train_guidedrec --epochs=2 --output_dir=$OUT/guidedrec > $OUT/guidedrec.log 2>&1
$PY -m binaries.train_ract --protocol=strong --actor_epochs=1 --critic_epochs=1 --ac_epochs=1 --output_dir=$OUT/ract > $OUT/ract.log 2>&1
echo done > $OUT/DONE
