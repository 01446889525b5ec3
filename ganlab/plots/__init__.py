"""Every figure ganlab draws, in one place: the layer above the work it shows (it reads run and
sweep folders, replays runs through the engine, draws experiments' results), below the command
line. A new figure is a module here drawing on ``canvas.figure`` and saved with ``canvas.save``.

    canvas.py   the Agg figure and PNG + PDF saving every figure uses
    folders.py  figures of a sweep or run folder on a toy target: samples, coverage, curves, the replay
                (snapshots and an animated GIF); ``make_figures`` (``ganlab figures``)
    images.py   figures of an image run folder (MNIST, Stacked MNIST): sample grids, snapshots, curves
"""
