"""The plugin's dock widgets (napari, Qt); the napari-free work lives in ``core/``.

Each dock is a module (``threshold``, ``morphology_widget``, ``fill_widget``,
``region_widget``, ``compare``, ``instances_widget``, ``noise_widget``,
``recipe_widget``, ``op_widget``) built on :mod:`._engine` (the live preview
loop) and :mod:`._write` (the one path that writes into a user's Labels layer).
napari finds them through ``napari.yaml``; nothing is imported here, so that
importing one dock does not import the others.
"""
