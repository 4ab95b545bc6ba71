"""cocotb benches (test modules run inside the simulator by :mod:`slique.sim.runner`)."""
