"""Result tables: reproduced values beside the paper's."""
