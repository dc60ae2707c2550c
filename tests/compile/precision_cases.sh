#!/usr/bin/env bash
# precision_cases.sh NETC CASE — netc compile --precision bf16 | int8 (codegen/cpu/cg_precision.h):
#   bad_input     unknown precisions, int8 without --calibrate, calibration folders that are not one or
#                 hold no image: exit 2 naming the problem, nothing written
#   models        resnet50 and efficientnet_b0 on their conformance input at 32x32 against f32
#                 (precision_report.py conformance); the program says which precision each kernel runs
#                 (info, bench --per-kernel); the weights shrink; an ensemble takes the options too
#   bf16_acts     bf16 activations between the bf16 GEMM kernels (passes/assign_dtype.c; their answers are
#                 models' bf16 rows): where the host has AMX or AVX512-BF16, info, --dump-after and bench
#                 --per-kernel say which tensors are bf16, and resnet50 runs as AVX512-BF16 kernels with
#                 them too (--cpu cooperlake, against f32)
#   epilogue_inplace  resnet50's bottleneck convs store their output over their residual in int8 with f32
#                 activations on any host, and where the host has AMX or AVX512-BF16 in bf16 and int8 with bf16
#                 ones (passes/epilogue_inplace.c: the dump says "over %N"), the arena is smaller, and the
#                 answers on the photographs are the same bits as with every output apart
#                 (NETC_CG_EPI_INPLACE=0); never in f32
#   calibrate_fast  int8 calibration by the generated kernels (tools/netc/calibrate_jit.c, the default) against
#                 the reference interpreter's (NETC_CALIBRATE=reference) for resnet18 (48x48) and efficientnet_b0
#                 (32x32: SE-scaled convs) on tests/photos: the same ranges within 1e-4, the same logits
#                 (calib_compare.py); NETC_CALIBRATE=bogus is bad input
#   photos_lite0  EfficientNet-Lite0 with its ImageNet weights on tests/photos (precision_report.py
#                 photos: bf16's top-5 sets and int8's top-1 equal f32's; needs tools/get_lite0.sh)
set -u
netc=$1 case=$2
source "$(dirname "$0")/cases_env.sh"
photos="$root/tests/photos"
case $case in
bad_input)
    "$ef" 2 "--precision 'fp8': expected f32, bf16 or int8" --no-file "$tmp/t" -- \
        "$netc" compile "$tiny" --init det --res 32 --precision fp8 -o "$tmp/t" || fail "fp8 accepted"
    "$ef" 2 "--precision int8 needs --calibrate DIR" --no-file "$tmp/t" -- \
        "$netc" compile "$tiny" --init det --res 32 --precision int8 -o "$tmp/t" || fail "int8 without --calibrate"
    mkdir empty && touch empty/notes.txt
    "$ef" 2 "--calibrate $tmp/empty: no images" --no-file "$tmp/t" -- \
        "$netc" compile "$tiny" --init det --res 32 --precision int8 --calibrate "$tmp/empty" -o "$tmp/t" ||
        fail "an empty calibration folder accepted"
    "$ef" 2 "--calibrate $tmp/none: not a folder" --no-file "$tmp/t" -- \
        "$netc" compile "$tiny" --init det --res 32 --precision int8 --calibrate "$tmp/none" -o "$tmp/t" ||
        fail "a missing calibration folder accepted"
    mkdir bad && printf 'not a jpeg' > bad/a.jpg
    "$ef" 2 "--calibrate: $tmp/bad/a.jpg" --no-file "$tmp/t" -- \
        "$netc" compile "$tiny" --init det --res 32 --precision int8 --calibrate "$tmp/bad" -o "$tmp/t" ||
        fail "an undecodable calibration image accepted"
    "$ef" 2 "--calibrate goes with --precision int8" --no-file "$tmp/t" -- \
        "$netc" compile "$tiny" --init det --res 32 --calibrate "$photos" -o "$tmp/t" || fail "--calibrate alone"
    "$ef" 2 "not with --no-codegen" --no-file "$tmp/t" -- \
        "$netc" compile "$tiny" --init det --res 32 --precision bf16 --no-codegen -o "$tmp/t" ||
        fail "bf16 without codegen accepted"
    "$ef" 2 "--precision 'int4'" --no-file "$tmp/ens" -- \
        "$netc" ensemble "$tiny:det@32" --merge mean --precision int4 -o "$tmp/ens" || fail "ensemble int4 accepted"
    pass ;;
models)
    # resnet50 (1x1 convs: GEMM; strided 3x3 and 1x1: im2col and copy; Winograd; the stem; the classifier),
    # efficientnet_b0 (SE-scaled projections, depthwise), resnest50d and regnety_016 (grouped 3x3s: ResNeSt's
    # radix 2, RegNetY's 24 channels a group) at 32x32 with the deterministic weights on their conformance
    # input, against f32; int8 calibrated on one photograph
    mkdir calib && cp "$photos/coffee.jpg" calib/
    "$python" "$here/precision_report.py" conformance "$netc" "$tmp" "$tmp/calib" \
        resnet50,efficientnet_b0,resnest50d,regnety_016 --res 32 || fail "reduced precision too far from f32"
    "$netc" compile "$root/models/resnet50.nn" --init det --res 32 --weights-external -o resnet50_f32 2>/dev/null ||
        fail "compile f32 failed"
    for p in bf16 int8; do ./resnet50_$p info > info_$p.txt || fail "info $p failed"; done
    cat info_bf16.txt info_int8.txt
    # on a CPU with AMX every conv and the classifier run the bf16 GEMM (cg_amx_gemm.h: bf16 columns or the
    # direct forms, f32 accumulation), Winograd's and the stem included; with AVX512-BF16 alone the same except
    # the dense 3x3 stride-1 convs, which keep f32 Winograd (a quarter of the multiplies beats vdpbf16ps'
    # double rate); elsewhere the f32 GEMMs on bf16 weights
    if grep -q "bf16 gemm (\(amx-bf16\|avx512-bf16\) bf16)" info_bf16.txt; then
        grep -q "kernels:.*[0-9] bf16 im2col+gemm ([a-z0-9-]* bf16)" info_bf16.txt ||
            fail "info does not say the strided and 3x3 convs run bf16"
        ! grep -q "[:,] [0-9]* \(nhwc [a-z0-9+]*gemm\|gemm\|nhwc direct\|nhwc grouped\) (" info_bf16.txt ||
            fail "an f32 conv or GEMM left in the bf16 program"
        if grep -q "bf16 gemm (amx-bf16 bf16)" info_bf16.txt; then
            ! grep -q "nhwc winograd F[24] (" info_bf16.txt || fail "an f32 Winograd conv left in the AMX bf16 program"
        fi
    else
        for k in "nhwc gemm" "nhwc copy+gemm" "nhwc im2col+gemm" "gemm"; do
            grep -q "kernels:.*[0-9] $k (avx[0-9]* bf16)" info_bf16.txt || fail "info does not say $k runs bf16"
            ! grep -q "[0-9] $k ([a-z0-9]* f32)" info_bf16.txt || fail "an f32 $k left in the bf16 program"
        done
    fi
    for k in "int8 gemm" "int8 copy+gemm" "int8 im2col+gemm"; do
        grep -q "kernels:.*[0-9] $k ([a-z0-9]* int8)" info_int8.txt || fail "info does not name $k"
    done
    ! grep -q "nhwc [a-z0-9+]*gemm (" info_int8.txt || fail "an f32 GEMM conv left in the int8 program"
    # grouped convs: int8 im2col + a GEMM per group where the int8 GEMM has VNNI (elsewhere the stride-1 ones
    # keep f32 Winograd, as the dense 3x3s do)
    if grep -q "int8 im2col+gemm (\(amx\|avx512vnni\) int8)" info_int8.txt; then
        for m in resnest50d regnety_016; do
            ./${m}_int8 info > info_$m.txt || fail "info $m failed"
            ! grep -q "nhwc grouped\|nhwc winograd" info_$m.txt || fail "$m: a grouped conv left f32 in int8"
        done
    fi
    # the weights: the GEMM-shaped convs' at half (bf16) or a quarter (int8); Winograd's 3x3 filters (8.2M
    # of resnet50's 25.6M parameters), the classifier (int8), the stem, biases stay f32
    s32=$(stat -c %s resnet50_f32.weights) s16=$(stat -c %s resnet50_bf16.weights)
    s8=$(stat -c %s resnet50_int8.weights)
    echo "weights: f32 $s32, bf16 $s16, int8 $s8 bytes"
    [ $((s16 * 100 / s32)) -lt 75 ] || fail "bf16 weights are not smaller"
    [ $((s8 * 100 / s32)) -lt 60 ] || fail "int8 weights are not smaller"
    OMP_NUM_THREADS=1 ./resnet50_int8 bench --per-kernel --iters 1 > prof.txt || fail "bench --per-kernel failed"
    grep -q "^[0-9]* *conv2d+relu  *int8 gemm  *[a-z0-9]*  *int8 *layer1.0.conv1 " prof.txt ||
        fail "per-kernel row wrong"
    # an ensemble takes the options; a model's two resolutions share one calibrated copy of its weights
    "$netc" ensemble "$root/models/resnet18.nn:det@32,40" --merge mean --precision int8 \
        --calibrate "$tmp/calib" -o ens 2>/dev/null || fail "ensemble int8 failed"
    ./ens info | grep -q "int8 im2col+gemm ([a-z0-9]* int8)" || fail "the ensemble's convs are not int8"
    ./ens classify "$photos" --top 1 > /dev/null || fail "the int8 ensemble does not classify"
    pass ;;
bf16_acts)
    "$netc" compile "$root/models/regnety_016.nn" --init det --res 32 --precision bf16 -o regnety_016_bf16 \
        2>/dev/null || fail "compile failed"
    ./regnety_016_bf16 info > info.txt || fail "info failed"
    cat info.txt
    if grep -q "bf16 gemm (\(amx-bf16\|avx512-bf16\) bf16)" info.txt; then
        grep -q "activations: [1-9][0-9]* of [0-9]* intermediates stored bf16" info.txt ||
            fail "info does not say which activations are bf16"
        # grouped 3x3s have no Winograd form: bf16 columns on every bf16 ISA (the f32 grouped kernel was
        # 2x slower on AVX512-BF16 without AMX)
        ! grep -q "nhwc grouped (" info.txt || fail "regnety_016: a grouped conv left f32 in bf16"
        "$netc" compile "$root/models/resnet50.nn" --init det --res 32 --precision bf16 --dump-after assign_dtype \
            -o r50 > dump.txt 2>/dev/null || fail "--dump-after assign_dtype failed"
        grep -q "^  %[0-9]* = conv2d(.*-> \[1, 256, 8, 8\] nhwc bf16  # layer1.0.conv3" dump.txt ||
            fail "the dump does not show layer1.0.conv3's output bf16"
        grep -q "global_avg_pool.* nhwc bf16" dump.txt && fail "a pool's output bf16 in the dump"
        OMP_NUM_THREADS=1 ./r50 bench --per-kernel --iters 1 > prof.txt || fail "bench --per-kernel failed"
        # (layer2.0.conv1: its input is a 1x1's output on every bf16 ISA; layer1.0.conv3's is a 3x3's, f32
        # Winograd on AVX512-BF16 without AMX)
        grep -q "layer2.0.conv1 .* bf16>bf16$" prof.txt || fail "per-kernel does not say layer2.0.conv1 is bf16>bf16"
        if grep -q avx512_bf16 /proc/cpuinfo; then
            "$python" "$here/precision_report.py" conformance "$netc" "$tmp" "$tmp" resnet50 --res 32 --only bf16 \
                --cpu cooperlake || fail "AVX512-BF16 kernels with bf16 activations too far from f32"
            ./resnet50_bf16 info | grep -q "activations: [1-9]" || fail "cooperlake: no bf16 activations"
        fi
    else
        echo "no AMX or AVX512-BF16 here: activations stay f32"
    fi
    pass ;;
epilogue_inplace)
    "$netc" compile "$root/models/resnet50.nn" --init det --res 32 --batch 2 --precision f32 \
        --dump-after epilogue_inplace -o r50_f32 > dump_f32.txt 2>/dev/null || fail "f32 compile failed"
    grep -q " over %" dump_f32.txt && fail "an f32 conv stored over its residual (its GEMM keeps partial sums there)"
    # int8 with f32 activations (AVX2 hosts, or NETC_CG_BF16_ACT=f32) stores over its residuals too
    NETC_CG_BF16_ACT=f32 "$netc" compile "$root/models/resnet50.nn" --init det --res 32 --batch 2 --precision int8 \
        --calibrate "$photos" --dump-after epilogue_inplace -o over_i8f32 > dump_i8f32.txt 2>/dev/null ||
        fail "int8 (f32 activations) compile failed"
    grep -q "^  %[0-9]* = conv2d(.* over %[0-9]*  # layer1.0.conv3$" dump_i8f32.txt ||
        fail "int8 with f32 activations: layer1.0.conv3 not stored over its residual"
    NETC_CG_BF16_ACT=f32 NETC_CG_EPI_INPLACE=0 "$netc" compile "$root/models/resnet50.nn" --init det --res 32 \
        --batch 2 --precision int8 --calibrate "$photos" -o apart_i8f32 2>/dev/null || fail "int8 (apart) failed"
    for e in over apart; do
        ./"${e}_i8f32" classify "$photos" --logits --top 5 --json > "${e}_i8f32.jsonl" || fail "classify ($e) failed"
    done
    cmp over_i8f32.jsonl apart_i8f32.jsonl || fail "int8 (f32 activations): answers differ over the residuals"
    for p in bf16 int8; do
        cal=()
        [ $p = int8 ] && cal=(--calibrate "$photos")
        "$netc" compile "$root/models/resnet50.nn" --init det --res 32 --batch 2 --precision $p "${cal[@]}" \
            --dump-after epilogue_inplace -o "over_$p" > "dump_$p.txt" 2>/dev/null || fail "$p compile failed"
        if ! grep -q "activations: [1-9]" <(./"over_$p" info); then
            echo "no AMX or AVX512-BF16 here: $p activations f32, outputs apart"
            continue
        fi
        grep -q "^  %[0-9]* = conv2d(.* over %[0-9]*  # layer1.0.conv3$" "dump_$p.txt" ||
            fail "$p: layer1.0.conv3 not stored over its residual"
        NETC_CG_EPI_INPLACE=0 "$netc" compile "$root/models/resnet50.nn" --init det --res 32 --batch 2 --precision $p \
            "${cal[@]}" -o "apart_$p" 2>/dev/null || fail "$p compile (apart) failed"
        over=$(./"over_$p" info | sed -n 's/.*arena \([0-9.]*\) MB.*/\1/p')
        apart=$(./"apart_$p" info | sed -n 's/.*arena \([0-9.]*\) MB.*/\1/p')
        echo "$p: arena $over MB over the residuals, $apart MB apart"
        awk -v a="$over" -v b="$apart" 'BEGIN { exit !(a < b) }' || fail "$p: the arena did not shrink"
        for e in over apart; do
            ./"${e}_$p" classify "$photos" --logits --top 5 --json > "${e}_$p.jsonl" || fail "$p: classify ($e) failed"
        done
        cmp "over_$p.jsonl" "apart_$p.jsonl" || fail "$p: answers differ with outputs over the residuals"
    done
    pass ;;
calibrate_fast)
    "$ef" 2 "NETC_CALIBRATE=bogus: expected fast" --no-file "$tmp/t" -- \
        env NETC_CALIBRATE=bogus "$netc" compile "$tiny" --init det --res 32 --precision int8 \
        --calibrate "$photos" -o "$tmp/t" || fail "NETC_CALIBRATE=bogus accepted"
    for mr in resnet18:48 efficientnet_b0:32; do
        m=${mr%:*} r=${mr#*:}
        for how in reference fast; do
            NETC_CALIBRATE=$how "$netc" compile "$root/models/$m.nn" --init det --res "$r" --precision int8 \
                --calibrate "$photos" --verbose -o "${m}_$how" 2> "${m}_$how.log" || fail "$m: $how calibration failed"
            grep "^calibrate" "${m}_$how.log"
            ./"${m}_$how" classify "$photos" --logits --top 5 --json > "${m}_$how.jsonl" || fail "$m: classify failed"
        done
        grep -q "^calibrate: $m: 5 images in .* by the reference interpreter$" "${m}_reference.log" ||
            fail "$m: NETC_CALIBRATE=reference did not run the reference interpreter"
        grep -q "^calibrate: $m: kernels generated in" "${m}_fast.log" || fail "$m: the kernels did not calibrate"
        "$python" "$here/calib_compare.py" ranges "${m}_reference.log" "${m}_fast.log" || fail "$m: ranges differ"
        "$python" "$here/calib_compare.py" logits "${m}_reference.jsonl" "${m}_fast.jsonl" || fail "$m: logits differ"
    done
    pass ;;
photos_lite0)
    weights="${NETC_LITE0_WEIGHTS:-$root/weights/tf_efficientnet_lite0.safetensors}"
    [ -f "$weights" ] || fail "$weights is missing: run tools/get_lite0.sh (tools/test.sh does)"
    "$python" "$here/precision_report.py" photos "$netc" "$tmp" "$weights" "$photos" "$photos" --res 224 ||
        fail "reduced precision changed the answers"
    pass ;;
*) fail "unknown case $case" ;;
esac
