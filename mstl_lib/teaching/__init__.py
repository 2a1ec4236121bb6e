"""The book's machinery: notebook set-up, the shared work folder, widgets, exercises, the build.

======================  ===========================================================
:mod:`.notebook`        what every lesson does first (quiet logs, versions, workspace)
:mod:`.workspace`       the work folder the lessons share; each step done once
:mod:`.widgets`         interactive explorers (ipywidgets); their figures are in
                        :mod:`mstl_lib.visualize.explorers`
:mod:`.lesson_tables`   tables and examples lessons 2 and 4 show of their data
:mod:`.grid_text`       the grid's results in words (lessons 5 and 6, ``mstl report``)
:mod:`.study_text`      the study's results in words (lesson 8, ``mstl report`` on a study)
:mod:`.exercises`       check cells for the students' code (the Keras ones in :mod:`.exercise_networks`;
                        what every check does with an answer in :mod:`.answer_checks`)
:mod:`.book`            executing the lessons with papermill and building the HTML
:mod:`.execution`       running one lesson under the kernel watchdog (papermill's engine)
:mod:`.paths`           the book's root, its lessons, the build folder the kernels see
:mod:`.repository`      the repository URL of the launch buttons and install cells
======================  ===========================================================

Import the module you need (``from mstl_lib.teaching.notebook import setup_notebook``);
this package itself imports nothing heavy.
"""
