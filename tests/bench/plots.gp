# make bench's figures: gnuplot -e "dir='build/bench'" tests/bench/plots.gp
# reads dir/*.dat (written by tests/bench.sh and bench_mm --curves) and
# writes dir/*.svg.
set terminal svg size 720,420 font "sans,12" background rgb "white" enhanced
set grid
set key top left

set output dir."/clone_vs_size.svg"
set title "Cloning a VM: umbra's own time against the guest's size (TCG, TSC cycles)"
set xlabel "guest memory (MiB)"
set ylabel "TSC cycles"
set logscale x 2
set logscale y 10
set format y "10^{%L}"
set key center right
plot dir."/clone_vs_size.dat" using 1:2 with linespoints lw 2 title "shared copy-on-write", \
     dir."/clone_vs_size.dat" using 1:3 with linespoints lw 2 title "clone=deep (copy everything)"

set output dir."/reclaim_vs_mappings.svg"
set title "Reclaiming one frame: reverse map against a scan of 10,240+ shadow tables (host)"
set xlabel "shadow entries mapping the frame"
set ylabel "nanoseconds"
set yrange [10:1e8]
set logscale x 2
set logscale y 10
set format y "10^{%L}"
set key center right
plot dir."/reclaim_vs_mappings.dat" using 1:2 with linespoints lw 2 title "reverse map", \
     dir."/reclaim_vs_mappings.dat" using 1:3 with linespoints lw 2 title "scan every shadow table"

set autoscale y
set output dir."/rmap_bytes_vs_mappings.svg"
set title "Reverse-map memory per mapping (0 for a frame's single mapping)"
set xlabel "mappings of the frame"
set ylabel "bytes per mapping"
set logscale x 2
unset logscale y
set yrange [0:16]
set format y "%g"
set key top right
plot dir."/rmap_bytes_vs_mappings.dat" using 1:2 with linespoints lw 2 title "cuckoo set, 4-slot buckets"
