-- one row (or none): the review $review with its filters and its frozen metric contract, if the viewer may see it
select
    r.* replace (r.filters::varchar as filters),
    s.contract::varchar as contract,
    s.digest,
from reviews as r
join review_snapshots as s on s.review = r.id
where r.id = $review
    and ($scope is null or r.unit in (select code from unit_subtree($scope)))
