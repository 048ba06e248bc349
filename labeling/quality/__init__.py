"""Label quality: agreement measures, worker reliability, gold items and adaptive overlap."""
