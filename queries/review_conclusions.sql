-- one row per section of review $review the chair has concluded on: the latest version, who wrote it and when
select
    c.section,
    c.text,
    c.version,
    c.written_by,
    c.written_at,
from review_conclusions as c
join reviews as r on r.id = c.review
where c.review = $review
    and ($scope is null or r.unit in (select code from unit_subtree($scope)))
qualify c.version = max(c.version) over (partition by c.section)
order by c.section
